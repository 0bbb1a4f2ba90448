#include "memstrain/executor/resolve.hpp"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <sstream>

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

Result<Resolution> resolvePlan(const Plan& plan, const CgroupFs& fs, const ResolveContext& ctx) {
  // A plan is data: running a program of its choosing as root is a decision of whoever starts
  // memstrain, made on the command line, not by whoever wrote (or can edit) the plan.
  for (std::size_t i = 0; i < plan.stages.size(); ++i) {
    const auto& rel = plan.stages[i].release;
    if (!ctx.allow_commands && rel && rel->trigger && rel->trigger->kind == ReleaseTrigger::Kind::kCommand) {
      return Error{"/stages/" + std::to_string(i) + "/release/trigger/command: the plan runs a command (`" + rel->trigger->command[0] +
                   "`) as memstrain's user (root); pass --allow-commands to allow it"};
    }
  }
  Resolution r;
  r.version = fs.version();
  r.mount = fs.mount();
  for (const auto& s : plan.stages) {
    if (s.pressure) {
      if (r.placement && *r.placement != s.pressure->placement) {
        return Error{std::string("/stages: every stage with pressure must use the same placement (found both ") + toString(*r.placement) +
                     " and " + toString(s.pressure->placement) + ")"};
      }
      r.placement = s.pressure->placement;
    }
  }
  // Pressure-assisted reclaim (release stages) needs a stressor; without pressure stages it joins
  // the target's cgroup.
  const bool reclaim =
      std::any_of(plan.stages.begin(), plan.stages.end(), [](const StageSpec& s) { return s.release && s.release->reclaim; });
  if (reclaim && !r.placement) r.placement = Placement::kInside;
  const bool beside = r.placement == Placement::kBeside;
  const bool node = r.placement == Placement::kNode;
  // Node placement: a stressor cgroup of its own under the memstrain parent, beside the run cgroup.
  const std::string node_cgroup = joinCgroup(ctx.cgroup_parent, ctx.run_id + "-node");
  // memstrain creates the parent itself when it is missing, never its ancestors: a cgroup it made
  // on the way would be in no journal and never removed.
  if ((plan.target.launch || node) && !fs.exists(ctx.cgroup_parent) && !fs.exists(parentCgroup(ctx.cgroup_parent))) {
    return Error{"--cgroup-parent " + ctx.cgroup_parent + ": " + parentCgroup(ctx.cgroup_parent) + " does not exist under " + fs.mount() +
                 "; memstrain creates only the parent's last part (create the rest first, or choose a parent under an existing cgroup)"};
  }

  if (plan.target.launch) {
    r.launch = true;
    r.run_cgroup = joinCgroup(ctx.cgroup_parent, ctx.run_id);
    r.target_cgroup = joinCgroup(r.run_cgroup, "target");
    r.stressor_cgroup = beside ? joinCgroup(r.run_cgroup, "stressor") : r.target_cgroup;
    r.measured_cgroup = beside ? r.run_cgroup : r.target_cgroup;
    // Parents first; the memstrain parent may already exist (another run, or an earlier one).
    if (!fs.exists(ctx.cgroup_parent)) r.cgroups_to_create.push_back(ctx.cgroup_parent);
    r.cgroups_to_create.push_back(r.run_cgroup);
    r.cgroups_to_create.push_back(r.target_cgroup);
    if (beside) r.cgroups_to_create.push_back(r.stressor_cgroup);
    if (node) {
      r.stressor_cgroup = node_cgroup;
      r.cgroups_to_create.push_back(node_cgroup);
    }
    auto above = limitOfNearestExisting(fs, ctx.cgroup_parent);
    if (!above) return above.error();
    r.effective_limit_bytes = std::min(*above, plan.target.launch->memory_limit_bytes);
    r.target_limit_bytes = r.effective_limit_bytes;
  } else {
    const AttachSpec& a = *plan.target.attach;
    if (a.cgroup) {
      r.target_cgroup = *a.cgroup;
      r.attach_matched_by = "cgroup";
    } else if (a.pid) {
      // Through locate: /proc/PID/cgroup is joined with the mount's root, so cgroup namespaces work.
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
    if (r.target_cgroup == "/")
      return Error{"/target/attach: the target is in the root cgroup; memstrain will not pressure the whole host"};
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
    if (beside) {
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
    } else if (node) {
      r.stressor_cgroup = node_cgroup;
      if (!fs.exists(ctx.cgroup_parent)) r.cgroups_to_create.push_back(ctx.cgroup_parent);
      r.cgroups_to_create.push_back(node_cgroup);
    } else {
      r.stressor_cgroup = r.target_cgroup;
      r.measured_cgroup = r.target_cgroup;
      r.effective_limit_bytes = r.target_limit_bytes;
    }
  }
  if (node) {
    if (ctx.node_memory_bytes == 0) return Error{"/stages: node placement needs the node's MemTotal (/proc/meminfo was not readable)"};
    r.measured_cgroup = kNodeMeasured;
    r.node = nodeRails(plan.safety, ctx.node_memory_bytes, ctx.force);
    r.effective_limit_bytes = ctx.node_memory_bytes;
  }

  const bool limited = r.effective_limit_bytes != kUnlimited;
  if (node) {
    r.safety_margin_bytes = nodeControlMarginBytes(*r.node);
  } else if (limited) {
    r.safety_margin_bytes =
        std::max<std::uint64_t>(plan.safety.margin_min_bytes,
                                static_cast<std::uint64_t>(plan.safety.margin_fraction * static_cast<double>(r.effective_limit_bytes)));
  }
  // Node rails for every placement: whatever cgroup the stressor is in, the node pays for its
  // pages. A BestEffort pod's effective limit is about the whole node's, an unlimited cgroup has
  // none: only MemTotal and MemAvailable say what pressure would cost the node.
  if (r.placement) {
    if (ctx.node_memory_bytes == 0) {
      return Error{
          "/stages: pressure needs the node's MemTotal and MemAvailable (/proc/meminfo was not readable) to stay within "
          "safety.node_max and safety.node_min_available; nothing was started"};
    }
    r.node_guard = r.node ? *r.node : nodeRails(plan.safety, ctx.node_memory_bytes, ctx.force);
  }
  const NodeMemory node_now{ctx.node_memory_bytes, ctx.node_available_bytes};
  // What the measured cgroup holds now: the stressor adds only the rest of a level's setpoint.
  // Launch mode creates it empty.
  const std::uint64_t measured_usage_now = !node && !r.launch && r.placement ? fs.usage(r.measured_cgroup).valueOr(0) : 0;
  // Refuses `adds` more bytes of stressor on the node when that would break the node's rails.
  auto nodeRailsProblem = [&](std::uint64_t adds) -> std::optional<std::string> {
    if (node || !r.node_guard) return std::nullopt;  // node placement checks its own, below
    return refuseNodePressure(*r.node_guard, node_now, std::nullopt, adds);
  };
  std::uint64_t reserve = 0;
  for (std::size_t i = 0; i < plan.stages.size(); ++i) {
    const StageSpec& s = plan.stages[i];
    ResolvedStage rs{s.name, s.duration, s.pressure, std::nullopt, std::nullopt};
    if (s.pressure) {
      const std::string ptr = "/stages/" + std::to_string(i) + "/pressure";
      if (node) {
        const NodeMemory now{ctx.node_memory_bytes, ctx.node_available_bytes};
        if (auto why = refuseNodePressure(*r.node, now, s.pressure->level_fraction, s.pressure->size_bytes)) {
          return Error{ptr + (s.pressure->level_fraction ? "/level: " : "/size: ") + *why};
        }
      }
      if (s.pressure->level_fraction) {
        if (!limited) {
          return Error{ptr + "/level: " + r.measured_cgroup +
                       " has no memory limit on it or its parents; a level needs one (use \"size\")"};
        }
        if (!node && r.effective_limit_bytes > ctx.node_memory_bytes) {
          return Error{ptr + "/level: the effective limit of " + r.measured_cgroup + " (" + formatBytes(r.effective_limit_bytes) +
                       ") is above the node's MemTotal (" + formatBytes(ctx.node_memory_bytes) +
                       "): a level of it is pressure on the whole node; use \"placement\": \"node\" (with its rails) or a \"size\""};
        }
        rs.setpoint_bytes = static_cast<std::uint64_t>(*s.pressure->level_fraction * static_cast<double>(r.effective_limit_bytes));
        if (auto why = nodeRailsProblem(*rs.setpoint_bytes > measured_usage_now ? *rs.setpoint_bytes - measured_usage_now : 0)) {
          return Error{ptr + "/level: holding " + formatBytes(*rs.setpoint_bytes) + " in " + r.measured_cgroup + ": " + *why};
        }
        reserve = std::max(reserve, r.effective_limit_bytes);
      } else {
        const std::uint64_t size = *s.pressure->size_bytes;
        if (!s.pressure->allow_oom && !node && limited) {
          const std::uint64_t ceiling = r.effective_limit_bytes - std::min(r.effective_limit_bytes, r.safety_margin_bytes);
          if (size > ceiling) {
            return Error{ptr + "/size: " + formatBytes(size) + " is above the effective limit minus the safety margin (" +
                         formatBytes(ceiling) + "); lower it or set \"allow_oom\": true"};
          }
        }
        // With allow_oom the cgroup's limit still bounds what the stressor can take from the node.
        if (auto why = nodeRailsProblem(limited ? std::min(size, r.effective_limit_bytes) : size)) return Error{ptr + "/size: " + *why};
        rs.size_bytes = size;
        reserve = std::max(reserve, size);
      }
    }
    if (s.release && s.release->reclaim) {
      const std::string ptr = "/stages/" + std::to_string(i) + "/release/reclaim";
      if (!limited) return Error{ptr + ": " + r.measured_cgroup + " has no memory limit on it or its parents; reclaim pressure needs one"};
      // Reclaim fills up to the limit minus the safety margin; a size of its own may not go past
      // it (there is no allow_oom for reclaim).
      const std::uint64_t ceiling = r.effective_limit_bytes - std::min(r.effective_limit_bytes, r.safety_margin_bytes);
      if (s.release->reclaim->size_bytes && *s.release->reclaim->size_bytes > ceiling) {
        return Error{ptr + "/size: " + formatBytes(*s.release->reclaim->size_bytes) +
                     " is above the effective limit minus the safety margin (" + formatBytes(ceiling) + ")"};
      }
      const std::uint64_t most = s.release->reclaim->size_bytes.value_or(ceiling);
      if (auto why = nodeRailsProblem(most)) return Error{ptr + (s.release->reclaim->size_bytes ? "/size: " : ": ") + *why};
      reserve = std::max(reserve, most);
    }
    r.stages.push_back(std::move(rs));
  }
  if (ctx.node_memory_bytes > 0) reserve = std::min(reserve, ctx.node_memory_bytes);
  r.stressor_reserve_bytes = reserve;
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
    if (s.pressure && s.pressure->allow_oom) o << ", OOM allowed";
    o << "\n";
    if (i < plan.stages.size()) describeStageExtras(o, plan.stages[i]);
  }
  o << "total duration:   " << formatDuration(plan.totalDuration()) << "\n";
  return o.str();
}

}  // namespace memstrain
