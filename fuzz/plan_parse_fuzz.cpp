// libFuzzer target: arbitrary bytes as a plan file. parsePlan must return either a list of issues
// (each with a JSON pointer) or a Plan that keeps every promise plan.hpp makes to the executor:
// nothing downstream re-checks them, so a plan that breaks one here is a bug in the parser.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "memstrain/plan/plan_parse.hpp"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// What the executor assumes of every accepted plan.
void checkAccepted(const memstrain::Plan& plan) {
  using namespace std::chrono;
  check(!plan.name.empty());
  check(plan.target.launch.has_value() != plan.target.attach.has_value());
  if (plan.target.launch) {
    check(!plan.target.launch->command.empty() && !plan.target.launch->command[0].empty());
    check(plan.target.launch->memory_limit_bytes >= (16ULL << 20));
  }
  if (plan.target.attach) {
    const auto& a = *plan.target.attach;
    check(a.cgroup.has_value() != a.pid.has_value());
    if (a.cgroup) check(a.cgroup->size() > 1 && a.cgroup->front() == '/' && a.cgroup->find("/../") == std::string::npos);
    if (a.pid) check(*a.pid >= 2);
  }
  check(!plan.stages.empty() && plan.stages.size() <= 256);
  check(plan.totalDuration() <= plan.safety.max_duration);
  std::set<std::string> names;
  for (const auto& s : plan.stages) {
    check(!s.name.empty() && s.name.size() <= 64 && s.name != "." && s.name != "..");
    check(s.name.find('/') == std::string::npos && s.name.find('\0') == std::string::npos);
    check(names.insert(s.name).second);
    check(s.duration >= milliseconds(100) && s.duration <= hours(24));
    if (s.pressure) {
      const auto& p = *s.pressure;
      check(p.level_fraction.has_value() != p.size_bytes.has_value());
      if (p.level_fraction) check(*p.level_fraction > 0.0 && *p.level_fraction <= 1.0);
      if (p.level_fraction && !p.allow_oom) check(*p.level_fraction <= 1.0 - plan.safety.margin_fraction);
      check(p.ramp >= nanoseconds(0) && p.ramp <= s.duration);
      check(p.oom_score_adj >= -1000 && p.oom_score_adj <= 1000);
    }
    for (std::size_t i = 0; i < s.actions.size(); ++i) {
      check(s.actions[i].at >= nanoseconds(0) && s.actions[i].at < s.duration);
      if (i > 0) check(s.actions[i - 1].at <= s.actions[i].at);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<memstrain::PlanIssue> issues;
  auto plan = memstrain::parsePlan(text, &issues);
  if (!plan.ok()) {
    // A rejection always says where: at least one issue, each pointer absolute.
    check(!issues.empty() && !plan.error().message.empty());
    for (const auto& i : issues) check(!i.pointer.empty() && i.pointer.front() == '/' && !i.message.empty());
    return 0;
  }
  check(issues.empty());
  checkAccepted(*plan);
  // The report copies the plan as given; that copy must serialise and, read back, mean the same.
  const std::string again = plan->source.dump();
  auto reparsed = memstrain::parsePlan(again);
  check(reparsed.ok());
  check(reparsed->stages.size() == plan->stages.size() && reparsed->totalDuration() == plan->totalDuration());
  return 0;
}
