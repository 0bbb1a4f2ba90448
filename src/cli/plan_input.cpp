#include "memstrain/cli/plan_input.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <spdlog/spdlog.h>

#include "memstrain/util/fs.hpp"

namespace memstrain {
namespace {

using nlohmann::json;

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

json bytesOrNull(std::uint64_t v) { return v == kUnlimited ? json(nullptr) : json(v); }

// Standard input to its end, at most `max` bytes (one more is read to tell "too large").
Result<std::string> readStdin(std::size_t max) {
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::fromErrno("read standard input");
    }
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max) return Error{"plan is larger than " + std::to_string(max) + " bytes"};
  }
  return text;
}

}  // namespace

bool isStdinPlan(const std::string& path) { return path == "-" || path == "/dev/stdin"; }

PlanInput readPlanInput(const std::string& path) {
  PlanInput in;
  if (!isStdinPlan(path)) {
    in.label = path;
    in.plan = loadPlan(path, &in.issues);
    if (in.plan) {
      if (auto t = readFile(path, kMaxPlanBytes)) in.text = std::move(*t);
    }
    return in;
  }
  in.label = "<stdin>";
  if (::isatty(0)) spdlog::info("reading the plan from the terminal; end it with Ctrl-D");
  auto text = readStdin(kMaxPlanBytes);
  if (!text) {
    in.issues = {{"/", text.error().message}};
    in.plan = Error{in.label + ": " + text.error().message};
    return in;
  }
  in.text = std::move(*text);
  auto plan = parsePlan(in.text, &in.issues);
  if (!plan) {
    std::string msg;
    for (const auto& i : in.issues) msg += (msg.empty() ? "" : "\n") + in.label + ": " + i.pointer + ": " + i.message;
    in.plan = Error{msg};
    return in;
  }
  in.plan = std::move(plan);
  return in;
}

json validateJson(const PlanInput& in) {
  json problems = json::array();
  for (const auto& i : in.issues) problems.push_back({{"pointer", i.pointer}, {"message", i.message}});
  if (!in.plan) {
    if (problems.empty()) problems.push_back({{"pointer", "/"}, {"message", in.plan.error().message}});
    return {{"plan_file", in.label}, {"valid", false}, {"problems", problems}};
  }
  const Plan& p = *in.plan;
  json stages = json::array();
  for (const auto& s : p.stages) {
    json pressure = nullptr;
    if (s.pressure) {
      pressure = {{"placement", toString(s.pressure->placement)},
                  {"level_fraction", s.pressure->level_fraction ? json(*s.pressure->level_fraction) : json(nullptr)},
                  {"size_bytes", s.pressure->size_bytes ? json(*s.pressure->size_bytes) : json(nullptr)},
                  {"ramp_s", seconds(s.pressure->ramp)},
                  {"rate_bytes_per_s", s.pressure->rate_bytes_per_s ? json(*s.pressure->rate_bytes_per_s) : json(nullptr)},
                  {"allow_oom", s.pressure->allow_oom}};
    }
    stages.push_back({{"name", s.name}, {"duration_s", seconds(s.duration)}, {"pressure", pressure}, {"release", s.release.has_value()}});
  }
  json checks = json::array();
  for (const auto& c : p.checks) checks.push_back(c.name);
  json probes = json::array();
  for (const auto& pr : p.target.probes) probes.push_back(pr.name);
  return {{"plan_file", in.label}, {"valid", true},
          {"name", p.name},        {"mode", p.target.launch ? "launch" : "attach"},
          {"stages", stages},      {"total_duration_s", seconds(p.totalDuration())},
          {"probes", probes},      {"checks", checks},
          {"problems", problems}};
}

json dryRunJson(const Plan& plan, const Resolution& r, const std::string& plan_label) {
  json stages = json::array();
  for (const auto& s : r.stages) {
    json pressure = nullptr;
    if (s.pressure) {
      pressure = {{"placement", toString(s.pressure->placement)},
                  {"level_fraction", s.pressure->level_fraction ? json(*s.pressure->level_fraction) : json(nullptr)},
                  {"setpoint_bytes", s.setpoint_bytes ? json(*s.setpoint_bytes) : json(nullptr)},
                  {"size_bytes", s.size_bytes ? json(*s.size_bytes) : json(nullptr)},
                  {"ramp_s", seconds(s.pressure->ramp)},
                  {"rate_bytes_per_s", s.pressure->rate_bytes_per_s ? json(*s.pressure->rate_bytes_per_s) : json(nullptr)},
                  {"hysteresis_bytes", s.hysteresis_bytes ? json(*s.hysteresis_bytes) : json(nullptr)},
                  {"allow_oom", s.pressure->allow_oom}};
    }
    stages.push_back({{"name", s.name}, {"duration_s", seconds(s.duration)}, {"pressure", pressure}});
  }
  json target = {
      {"mode", r.launch ? "launch" : "attach"}, {"cgroup", r.target_cgroup}, {"effective_limit_bytes", bytesOrNull(r.target_limit_bytes)}};
  if (r.launch) {
    target["command"] = plan.target.launch->command;
    target["run_cgroup"] = r.run_cgroup;
    target["memory_limit_bytes"] = plan.target.launch->memory_limit_bytes;
  } else {
    target["matched_by"] = r.attach_matched_by;
    target["pod_uid"] = r.pod_uid.empty() ? json(nullptr) : json(r.pod_uid);
    target["container_id"] = r.container_id.empty() ? json(nullptr) : json(r.container_id);
  }
  json node = nullptr;
  if (r.node) {
    node = {{"cap_bytes", r.node->cap_bytes},
            {"floor_bytes", r.node->floor_bytes},
            {"total_bytes", r.node->total_bytes},
            {"force", r.node->force}};
  }
  return {{"plan_file", plan_label},
          {"plan", plan.name},
          {"dry_run", true},
          {"changes", "none"},
          {"cgroup", {{"version", toString(r.version)}, {"mount", r.mount}}},
          {"target", target},
          {"placement", r.placement ? json(toString(*r.placement)) : json(nullptr)},
          {"stressor_cgroup", r.placement ? json(r.stressor_cgroup) : json(nullptr)},
          {"measured_cgroup", r.measured_cgroup},
          {"effective_limit_bytes", bytesOrNull(r.effective_limit_bytes)},
          {"safety_margin_bytes", r.safety_margin_bytes},
          {"cgroups_to_create", r.cgroups_to_create},
          {"node_rails", node},
          {"stages", stages},
          {"total_duration_s", seconds(plan.totalDuration())}};
}

}  // namespace memstrain
