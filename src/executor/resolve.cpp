#include "memstrain/executor/resolve.hpp"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <sstream>

#include "memstrain/actuators/setpoint.hpp"
#include "memstrain/discovery/locate.hpp"
#include "memstrain/executor/journal.hpp"
#include "memstrain/util/units.hpp"

namespace memstrain {

std::string parentCgroup(const std::string& rel) {
  auto pos = rel.find_last_of('/');
  if (pos == std::string::npos || pos == 0) return "/";
  return rel.substr(0, pos);
}

namespace {

std::string joinCgroup(const std::string& a, const std::string& b) { return a == "/" ? "/" + b : a + "/" + b; }

// Effective limit of a path that may not exist yet: the limits of its existing ancestors.
Result<std::uint64_t> limitOfNearestExisting(const CgroupFs& fs, std::string rel) {
  while (rel != "/" && !fs.exists(rel)) rel = parentCgroup(rel);
  return fs.effectiveLimit(rel);
}

// "/a" is "/a/b" or an ancestor of it.
bool isSameOrAncestor(const std::string& a, const std::string& b) {
  if (a == "/") return true;
  return b == a || (b.size() > a.size() && b.compare(0, a.size(), a) == 0 && b[a.size()] == '/');
}

// Finds an attach target named by pod UID and/or container id through the locate module.
Result<LocateResult> locateAttach(const AttachSpec& a, const CgroupFs& fs, const ResolveContext& ctx) {
  LocateOptions lo;
  lo.proc_root = ctx.proc_root;
  lo.host_root = ctx.host_root;
  lo.container_name = a.container;
  if (a.container_id) {
    auto r = locateByContainerId(fs, *a.container_id, lo);
    if (!r) return Error{"/target/attach/container_id: " + r.error().message, r.error().sys_errno};
    if (a.pod_uid && (!r->kube || r->kube->pod_uid != *a.pod_uid)) {
      return Error{"/target/attach/container_id: container " + r->cgroup + " belongs to pod " +
                       (r->kube ? r->kube->pod_uid : std::string("(none)")) + ", not to /target/attach/pod_uid " + *a.pod_uid +
                       "; refusing to touch it",
                   EXDEV};
    }
    return r;
  }
  auto r = locateByPodUid(fs, *a.pod_uid, lo);
  if (!r) return Error{"/target/attach/pod_uid: " + r.error().message, r.error().sys_errno};
  return r;
}

}  // namespace

bool isTargetNotFound(const Error& e) { return e.sys_errno == kLocateNotFound || e.sys_errno == kLocateAmbiguous || e.sys_errno == EXDEV; }

std::optional<std::string> refusedPressureCgroup(const std::string& rel, const std::string& self_cgroup, bool force) {
  if (rel.empty() || rel == "/") return "the root cgroup is the whole host; memstrain never puts pressure on it";
  if (!self_cgroup.empty() && isSameOrAncestor(rel, self_cgroup)) {
    return rel + (rel == self_cgroup ? " is memstrain's own cgroup" : " contains memstrain's own cgroup " + self_cgroup) +
           "; pressure there would squeeze memstrain itself";
  }
  if (force) return std::nullopt;
  static constexpr const char* kSystem[] = {"system.slice", "init.scope", "user.slice", "-.slice"};
  const auto end = rel.find('/', 1);
  const std::string top = rel.substr(1, end == std::string::npos ? std::string::npos : end - 1);
  for (const char* s : kSystem) {
    if (top == s) {
      return rel + " is in systemd's " + s + " (host services and logins, not a staging target); run with --force if you mean it";
    }
  }
  return std::nullopt;
}

namespace {

// A plan is data: running a program of its choosing as root is a decision of whoever starts
// memstrain, made on the command line, not by whoever wrote (or can edit) the plan.
Status refuseCommandTriggers(const Plan& plan, const ResolveContext& ctx) {
  if (ctx.allow_commands) return {};
  for (std::size_t i = 0; i < plan.stages.size(); ++i) {
    const auto& rel = plan.stages[i].release;
    if (rel && rel->trigger && rel->trigger->kind == ReleaseTrigger::Kind::kCommand) {
      return Error{"/stages/" + std::to_string(i) + "/release/trigger/command: the plan runs a command (`" + rel->trigger->command[0] +
                   "`) as memstrain's user (root); pass --allow-commands to allow it"};
    }
  }
  return {};
}

// The one placement of every stage with pressure, into r.placement (nullopt: no pressure). Pressure-
// assisted reclaim (release stages) needs a stressor; without pressure stages it joins the target's
// cgroup.
Status resolvePlacement(const Plan& plan, Resolution& r) {
  for (const auto& s : plan.stages) {
    if (s.pressure) {
      if (r.placement && *r.placement != s.pressure->placement) {
        return Error{std::string("/stages: every stage with pressure must use the same placement (found both ") + toString(*r.placement) +
                     " and " + toString(s.pressure->placement) + ")"};
      }
      r.placement = s.pressure->placement;
    }
  }
  const bool reclaim =
      std::any_of(plan.stages.begin(), plan.stages.end(), [](const StageSpec& s) { return s.release && s.release->reclaim; });
  if (reclaim && !r.placement) r.placement = Placement::kInside;
  return {};
}

// Node placement: a stressor cgroup of its own under the memstrain parent, beside the run cgroup.
std::string nodeStressorCgroup(const ResolveContext& ctx) { return joinCgroup(ctx.cgroup_parent, ctx.run_id + "-node"); }

// Launch mode: the run's cgroups under the memstrain parent (parents first; the parent may already
// exist, made by another or an earlier run), limited by the plan and by the parent's ancestors.
Status resolveLaunch(const LaunchSpec& launch, const CgroupFs& fs, const ResolveContext& ctx, Resolution& r) {
  const bool beside = r.placement == Placement::kBeside;
  r.launch = true;
  r.run_cgroup = joinCgroup(ctx.cgroup_parent, ctx.run_id);
  r.target_cgroup = joinCgroup(r.run_cgroup, "target");
  r.stressor_cgroup = beside ? joinCgroup(r.run_cgroup, "stressor") : r.target_cgroup;
  r.measured_cgroup = beside ? r.run_cgroup : r.target_cgroup;
  if (!fs.exists(ctx.cgroup_parent)) r.cgroups_to_create.push_back(ctx.cgroup_parent);
  r.cgroups_to_create.push_back(r.run_cgroup);
  r.cgroups_to_create.push_back(r.target_cgroup);
  if (beside) r.cgroups_to_create.push_back(r.stressor_cgroup);
  if (r.placement == Placement::kNode) {
    r.stressor_cgroup = nodeStressorCgroup(ctx);
    r.cgroups_to_create.push_back(r.stressor_cgroup);
  }
  auto above = limitOfNearestExisting(fs, ctx.cgroup_parent);
  if (!above) return above.error();
  r.effective_limit_bytes = std::min(*above, launch.memory_limit_bytes);
  r.target_limit_bytes = r.effective_limit_bytes;
  return {};
}

// Attach mode, first step: the target's cgroup by path, by pid (through locate: /proc/PID/cgroup is
// joined with the mount's root, so cgroup namespaces work) or by pod UID / container id.
Status findAttachTarget(const AttachSpec& a, const CgroupFs& fs, const ResolveContext& ctx, Resolution& r) {
  if (a.cgroup) {
    r.target_cgroup = *a.cgroup;
    r.attach_matched_by = "cgroup";
  } else if (a.pid) {
    LocateOptions lo;
    lo.proc_root = ctx.proc_root;
    auto loc = locateByPid(fs, *a.pid, lo);
    if (!loc) return Error{"/target/attach/pid: " + loc.error().message, loc.error().sys_errno};
    r.target_cgroup = loc->cgroup;
    r.attach_matched_by = "pid";
    // Who the pid is now: the run pins this process, never a later owner of the number.
    r.attach_pid_start_time = processStartTime(*a.pid, ctx.proc_root);
  } else {
    auto loc = locateAttach(a, fs, ctx);
    if (!loc) return loc.error();
    r.target_cgroup = loc->cgroup;
    r.attach_matched_by = loc->matched_by;
    if (loc->kube) r.pod_uid = loc->kube->pod_uid;
    if (loc->container) r.container_id = loc->container->id;
  }
  return {};
}

// Attach mode: the target found and checked (not the root, existing, not refused), its limit and
// visibility, then where the stressor goes and which cgroup is measured for each placement.
Status resolveAttach(const AttachSpec& a, const CgroupFs& fs, const ResolveContext& ctx, Resolution& r) {
  if (auto st = findAttachTarget(a, fs, ctx, r); !st) return st;
  if (r.target_cgroup == "/") return Error{"/target/attach: the target is in the root cgroup; memstrain will not pressure the whole host"};
  if (!fs.exists(r.target_cgroup))
    return Error{"/target/attach/cgroup: no cgroup " + r.target_cgroup + " under " + fs.mount(), kLocateNotFound};
  if (auto why = refusedPressureCgroup(r.target_cgroup, ctx.self_cgroup, ctx.force)) return Error{"/target/attach: " + *why};
  auto tl = fs.effectiveLimit(r.target_cgroup);
  if (!tl) return tl.error();
  r.target_limit_bytes = *tl;
  // Never blind: a target whose processes memstrain cannot see is said so before anything starts.
  if (auto pids = visibleProcesses(fs, r.target_cgroup); pids && pids->empty()) {
    r.hidden_target = hiddenProcessesExplanation(r.target_cgroup, fs.usage(r.target_cgroup).valueOr(0));
  }
  if (r.placement == Placement::kBeside) {
    const std::string parent = parentCgroup(r.target_cgroup);
    if (parent == "/") return Error{"/stages: beside placement needs the target below a parent cgroup other than the root"};
    if (auto why = refusedPressureCgroup(parent, ctx.self_cgroup, ctx.force))
      return Error{"/stages: beside placement competes in " + parent + ": " + *why};
    r.stressor_cgroup = joinCgroup(parent, "memstrain-stressor-" + ctx.run_id);
    r.measured_cgroup = parent;
    r.cgroups_to_create.push_back(r.stressor_cgroup);
    auto pl = fs.effectiveLimit(parent);
    if (!pl) return pl.error();
    r.effective_limit_bytes = *pl;
  } else if (r.placement == Placement::kNode) {
    r.stressor_cgroup = nodeStressorCgroup(ctx);
    if (!fs.exists(ctx.cgroup_parent)) r.cgroups_to_create.push_back(ctx.cgroup_parent);
    r.cgroups_to_create.push_back(r.stressor_cgroup);
  } else {
    r.stressor_cgroup = r.target_cgroup;
    r.measured_cgroup = r.target_cgroup;
    r.effective_limit_bytes = r.target_limit_bytes;
  }
  return {};
}

// The rails: node placement measures the node itself; the safety margin below the effective limit
// (node placement: its control margin); and for every placement with pressure the node's rails,
// since whatever cgroup the stressor is in, the node pays for its pages. A BestEffort pod's
// effective limit is about the whole node's, an unlimited cgroup has none: only MemTotal and
// MemAvailable say what pressure would cost the node.
Status resolveRails(const Plan& plan, const ResolveContext& ctx, Resolution& r) {
  const bool node = r.placement == Placement::kNode;
  if (node) {
    if (ctx.node_memory_bytes == 0) return Error{"/stages: node placement needs the node's MemTotal (/proc/meminfo was not readable)"};
    r.measured_cgroup = kNodeMeasured;
    r.node = nodeRails(plan.safety, ctx.node_memory_bytes, ctx.force);
    r.effective_limit_bytes = ctx.node_memory_bytes;
    r.safety_margin_bytes = nodeControlMarginBytes(*r.node);
  } else if (r.effective_limit_bytes != kUnlimited) {
    r.safety_margin_bytes =
        std::max<std::uint64_t>(plan.safety.margin_min_bytes,
                                static_cast<std::uint64_t>(plan.safety.margin_fraction * static_cast<double>(r.effective_limit_bytes)));
  }
  if (r.placement) {
    if (ctx.node_memory_bytes == 0) {
      return Error{
          "/stages: pressure needs the node's MemTotal and MemAvailable (/proc/meminfo was not readable) to stay within "
          "safety.node_max and safety.node_min_available; nothing was started"};
    }
    r.node_guard = r.node ? *r.node : nodeRails(plan.safety, ctx.node_memory_bytes, ctx.force);
  }
  return {};
}

// What each stage's pressure and reclaim are checked against, once the cgroups and rails are known.
struct StageBounds {
  const Resolution& r;
  const ResolveContext& ctx;
  bool node = false;
  bool limited = false;  ///< the measured cgroup has an effective limit
  NodeMemory node_now;
  /// What the measured cgroup holds now: the stressor adds only the rest of a level's setpoint.
  /// Launch mode creates it empty.
  std::uint64_t measured_usage_now = 0;

  StageBounds(const Resolution& res, const CgroupFs& fs, const ResolveContext& c)
      : r(res),
        ctx(c),
        node(res.placement == Placement::kNode),
        limited(res.effective_limit_bytes != kUnlimited),
        node_now{c.node_memory_bytes, c.node_available_bytes},
        measured_usage_now(!node && !res.launch && res.placement ? fs.usage(res.measured_cgroup).valueOr(0) : 0) {}

  /// The effective limit minus the safety margin (0 when the margin is larger).
  std::uint64_t ceiling() const { return r.effective_limit_bytes - std::min(r.effective_limit_bytes, r.safety_margin_bytes); }

  /// Why `adds` more bytes of stressor would break the node's rails, or nullopt. Node placement
  /// checks its own (resolvePressure).
  std::optional<std::string> nodeRailsProblem(std::uint64_t adds) const {
    if (node || !r.node_guard) return std::nullopt;
    return refuseNodePressure(*r.node_guard, node_now, std::nullopt, adds);
  }
};

// One stage's pressure (`ptr` is its JSON pointer): the setpoint of a level or the size, into `rs`.
// Returns what the stressor must be able to hold for it.
Result<std::uint64_t> resolvePressure(const StageBounds& b, const PressureSpec& p, const std::string& ptr, ResolvedStage& rs) {
  const Resolution& r = b.r;
  if (b.node) {
    if (auto why = refuseNodePressure(*r.node, b.node_now, p.level_fraction, p.size_bytes)) {
      return Error{ptr + (p.level_fraction ? "/level: " : "/size: ") + *why};
    }
  }
  if (p.level_fraction) {
    if (!b.limited) {
      return Error{ptr + "/level: " + r.measured_cgroup + " has no memory limit on it or its parents; a level needs one (use \"size\")"};
    }
    if (!b.node && r.effective_limit_bytes > b.ctx.node_memory_bytes) {
      return Error{ptr + "/level: the effective limit of " + r.measured_cgroup + " (" + formatBytes(r.effective_limit_bytes) +
                   ") is above the node's MemTotal (" + formatBytes(b.ctx.node_memory_bytes) +
                   "): a level of it is pressure on the whole node; use \"placement\": \"node\" (with its rails) or a \"size\""};
    }
    rs.setpoint_bytes = static_cast<std::uint64_t>(*p.level_fraction * static_cast<double>(r.effective_limit_bytes));
    rs.hysteresis_bytes = p.hysteresis_bytes ? *p.hysteresis_bytes
                          : p.hysteresis_fraction
                              ? static_cast<std::uint64_t>(*p.hysteresis_fraction * static_cast<double>(r.effective_limit_bytes))
                              : defaultHysteresisBytes(r.effective_limit_bytes);
    if (auto why = b.nodeRailsProblem(*rs.setpoint_bytes > b.measured_usage_now ? *rs.setpoint_bytes - b.measured_usage_now : 0)) {
      return Error{ptr + "/level: holding " + formatBytes(*rs.setpoint_bytes) + " in " + r.measured_cgroup + ": " + *why};
    }
    return r.effective_limit_bytes;
  }
  const std::uint64_t size = *p.size_bytes;
  if (!p.allow_oom && !b.node && b.limited) {
    const std::uint64_t ceiling = b.ceiling();
    if (size > ceiling) {
      return Error{ptr + "/size: " + formatBytes(size) + " is above the effective limit minus the safety margin (" + formatBytes(ceiling) +
                   "); lower it or set \"allow_oom\": true"};
    }
  }
  // With allow_oom the cgroup's limit still bounds what the stressor can take from the node.
  if (auto why = b.nodeRailsProblem(b.limited ? std::min(size, r.effective_limit_bytes) : size)) return Error{ptr + "/size: " + *why};
  rs.size_bytes = size;
  return size;
}

// One release stage's reclaim (`ptr` is its JSON pointer). Reclaim fills up to the limit minus the
// safety margin; a size of its own may not go past it (there is no allow_oom for reclaim). Returns
// what the stressor must be able to hold for it.
Result<std::uint64_t> resolveReclaim(const StageBounds& b, const ReclaimSpec& reclaim, const std::string& ptr) {
  if (!b.limited) return Error{ptr + ": " + b.r.measured_cgroup + " has no memory limit on it or its parents; reclaim pressure needs one"};
  const std::uint64_t ceiling = b.ceiling();
  if (reclaim.size_bytes && *reclaim.size_bytes > ceiling) {
    return Error{ptr + "/size: " + formatBytes(*reclaim.size_bytes) + " is above the effective limit minus the safety margin (" +
                 formatBytes(ceiling) + ")"};
  }
  const std::uint64_t most = reclaim.size_bytes.value_or(ceiling);
  if (auto why = b.nodeRailsProblem(most)) return Error{ptr + (reclaim.size_bytes ? "/size: " : ": ") + *why};
  return most;
}

// Every stage's bytes into r.stages, and the stressor's reservation: the most any stage asks of it,
// at most MemTotal.
Status resolveStages(const Plan& plan, const CgroupFs& fs, const ResolveContext& ctx, Resolution& r) {
  const StageBounds bounds(r, fs, ctx);
  std::uint64_t reserve = 0;
  for (std::size_t i = 0; i < plan.stages.size(); ++i) {
    const StageSpec& s = plan.stages[i];
    ResolvedStage rs{s.name, s.duration, s.pressure, std::nullopt, std::nullopt, std::nullopt};
    if (s.pressure) {
      auto holds = resolvePressure(bounds, *s.pressure, "/stages/" + std::to_string(i) + "/pressure", rs);
      if (!holds) return holds.error();
      reserve = std::max(reserve, *holds);
    }
    if (s.release && s.release->reclaim) {
      auto holds = resolveReclaim(bounds, *s.release->reclaim, "/stages/" + std::to_string(i) + "/release/reclaim");
      if (!holds) return holds.error();
      reserve = std::max(reserve, *holds);
    }
    r.stages.push_back(std::move(rs));
  }
  if (ctx.node_memory_bytes > 0) reserve = std::min(reserve, ctx.node_memory_bytes);
  r.stressor_reserve_bytes = reserve;
  return {};
}

}  // namespace

Result<Resolution> resolvePlan(const Plan& plan, const CgroupFs& fs, const ResolveContext& ctx) {
  if (auto st = refuseCommandTriggers(plan, ctx); !st) return st.error();
  Resolution r;
  r.version = fs.version();
  r.mount = fs.mount();
  if (auto st = resolvePlacement(plan, r); !st) return st.error();
  // memstrain creates the parent itself when it is missing, never its ancestors: a cgroup it made
  // on the way would be in no journal and never removed.
  const bool uses_parent = plan.target.launch || r.placement == Placement::kNode;
  if (uses_parent && !fs.exists(ctx.cgroup_parent) && !fs.exists(parentCgroup(ctx.cgroup_parent))) {
    return Error{"--cgroup-parent " + ctx.cgroup_parent + ": " + parentCgroup(ctx.cgroup_parent) + " does not exist under " + fs.mount() +
                 "; memstrain creates only the parent's last part (create the rest first, or choose a parent under an existing cgroup)"};
  }
  if (auto st = plan.target.launch ? resolveLaunch(*plan.target.launch, fs, ctx, r) : resolveAttach(*plan.target.attach, fs, ctx, r); !st) {
    return st.error();
  }
  if (auto st = resolveRails(plan, ctx, r); !st) return st.error();
  if (auto st = resolveStages(plan, fs, ctx, r); !st) return st.error();
  return r;
}

namespace {

// The lines under a stage's row: its actions and its release check, indented under the name.
void describeStageExtras(std::ostringstream& o, const StageSpec& stage) {
  const char* indent = "                            ";
  for (const auto& a : stage.actions) {
    o << indent << "action at " << formatDuration(a.at) << ": " << a.method << " " << a.url << "\n";
  }
  if (!stage.release) return;
  const ReleaseSpec& rel = *stage.release;
  o << indent << "release check: ";
  if (!rel.trigger) {
    o << "no trigger (the runtime's own scavenging)";
  } else {
    const ReleaseTrigger& t = *rel.trigger;
    switch (t.kind) {
      case ReleaseTrigger::Kind::kHttp: o << t.method << " " << t.url; break;
      case ReleaseTrigger::Kind::kSignal: o << (t.signal == SIGUSR2 ? "SIGUSR2" : "SIGUSR1") << " to the target"; break;
      case ReleaseTrigger::Kind::kCommand:
        o << "command `";
        for (std::size_t k = 0; k < t.command.size(); ++k) o << (k ? " " : "") << t.command[k];
        o << "`";
        break;
    }
    o << " at " << formatDuration(t.at);
  }
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.0f%%", rel.returned_ratio * 100);
  o << "; expect " << ratio << " of the released bytes out of RSS and the cgroup within " << formatDuration(rel.within);
  if (rel.reclaim) {
    o << "; if lazy, reclaim for " << formatDuration(rel.reclaim->duration) << " with "
      << (rel.reclaim->size_bytes ? "a stressor of " + formatBytes(*rel.reclaim->size_bytes) : std::string("the cgroup filled"));
  }
  o << "\n";
}

}  // namespace

std::string describeResolution(const Plan& plan, const Resolution& r) {
  std::ostringstream o;
  auto lim = [](std::uint64_t v) { return v == kUnlimited ? std::string("unlimited") : formatBytes(v); };
  o << "plan:             " << plan.name << "\n";
  o << "cgroup:           " << toString(r.version) << " at " << r.mount << "\n";
  if (r.launch) {
    o << "target:           launch `";
    for (std::size_t i = 0; i < plan.target.launch->command.size(); ++i) o << (i ? " " : "") << plan.target.launch->command[i];
    o << "`\n";
    o << "run cgroup:       " << r.run_cgroup << " (limit " << formatBytes(plan.target.launch->memory_limit_bytes) << ")\n";
  }
  o << "target cgroup:    " << r.target_cgroup << " (effective limit " << lim(r.target_limit_bytes) << ")\n";
  if (!r.attach_matched_by.empty() && r.attach_matched_by != "cgroup") {
    o << "found by:         " << r.attach_matched_by;
    if (!r.pod_uid.empty())
      o << " (pod " << r.pod_uid << (r.container_id.empty() ? "" : ", container " + r.container_id) << ")";
    else if (!r.container_id.empty())
      o << " (container " << r.container_id << ")";
    o << "\n";
  }
  if (r.hidden_target) {
    o << "target processes: none visible: " << *r.hidden_target << "\n";
    o << "                  "
      << (plan.target.attach && plan.target.attach->cgroup_only ? "target.attach.cgroup_only: watching the cgroup alone"
                                                                : "the run will refuse to start (see target.attach.cgroup_only)")
      << "\n";
  }
  if (r.placement) {
    o << "placement:        " << toString(*r.placement) << "; stressor cgroup " << r.stressor_cgroup << "\n";
    o << "measured cgroup:  " << r.measured_cgroup << " (effective limit " << lim(r.effective_limit_bytes) << ", safety margin "
      << formatBytes(r.safety_margin_bytes) << ")\n";
  }
  if (r.node_guard && !r.node) {
    o << "node rails:       the stressor may not take the node's memory in use above " << formatBytes(r.node_guard->cap_bytes)
      << (r.node_guard->force ? " (not enforced: --force)" : "") << " or MemAvailable below " << formatBytes(r.node_guard->floor_bytes)
      << " (MemTotal " << formatBytes(r.node_guard->total_bytes) << ")\n";
  }
  if (r.node) {
    o << "node rails:       in use at most " << formatBytes(r.node->cap_bytes) << (r.node->force ? " (not enforced: --force)" : "")
      << ", MemAvailable floor " << formatBytes(r.node->floor_bytes) << " of MemTotal " << formatBytes(r.node->total_bytes) << "\n";
  }
  if (!r.cgroups_to_create.empty()) {
    o << "will create:      ";
    for (std::size_t i = 0; i < r.cgroups_to_create.size(); ++i) o << (i ? ", " : "") << r.cgroups_to_create[i];
    o << "\n";
  }
  o << "\n  # stage            duration  pressure\n";
  for (std::size_t i = 0; i < r.stages.size(); ++i) {
    const auto& s = r.stages[i];
    char head[64];
    std::snprintf(head, sizeof head, "%3zu %-16s %8s  ", i, s.name.c_str(), formatDuration(s.duration).c_str());
    o << head;
    if (!s.pressure) {
      o << "none (stressor holds 0 B)";
    } else if (s.setpoint_bytes) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "%s usage at %.1f%% = %s", toString(s.pressure->placement), *s.pressure->level_fraction * 100,
                    formatBytes(*s.setpoint_bytes).c_str());
      o << buf;
    } else {
      o << toString(s.pressure->placement) << " stressor of " << formatBytes(*s.size_bytes);
    }
    if (s.pressure && s.pressure->ramp.count() > 0) o << ", ramp " << formatDuration(s.pressure->ramp);
    if (s.pressure && s.pressure->rate_bytes_per_s) o << ", at most " << formatBytes(*s.pressure->rate_bytes_per_s) << "/s";
    if (s.hysteresis_bytes) o << ", hysteresis " << formatBytes(*s.hysteresis_bytes);
    if (s.pressure && s.pressure->allow_oom) o << ", OOM allowed";
    o << "\n";
    if (i < plan.stages.size()) describeStageExtras(o, plan.stages[i]);
  }
  o << "total duration:   " << formatDuration(plan.totalDuration()) << "\n";
  return o.str();
}

}  // namespace memstrain
