// The entry of the plan parser: reads the JSON (no duplicate keys, bounded nesting) and checks
// the plan section by section (parse_*.cpp), collecting every issue.

#include "memstrain/plan/plan_parse.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "memstrain/util/fs.hpp"
#include "memstrain/util/units.hpp"
#include "parse_sections.hpp"

namespace memstrain {

using nlohmann::json;
using plan_parsing::Checker;
using plan_parsing::kMaxDepth;
using plan_parsing::parseChecks;
using plan_parsing::parsePprof;
using plan_parsing::parseSafety;
using plan_parsing::parseSampling;
using plan_parsing::parseStages;
using plan_parsing::parseTarget;
using plan_parsing::validStageName;

namespace {

// Rejects duplicate keys and excessive nesting while parsing; nlohmann would silently keep the last
// duplicate, which hides typos such as two "level" keys.
struct ParseGuard {
  struct Frame {
    bool is_object = false;
    std::set<std::string> keys;
  };
  std::vector<Frame> stack;
  std::vector<std::string> problems;
  bool too_deep = false;
};

struct TooDeep {};

// The plan text as a JSON document, or nullopt after recording why it is none: not JSON, a number
// a double cannot hold, nesting deeper than kMaxDepth. Duplicate keys are recorded as issues too.
std::optional<json> readPlanDocument(std::string_view text, std::vector<PlanIssue>& issues) {
  ParseGuard guard;
  json doc;
  try {
    json::parser_callback_t cb = [&guard](int depth, json::parse_event_t event, json& parsed) {
      switch (event) {
        case json::parse_event_t::object_start:
        case json::parse_event_t::array_start:
          if (depth >= kMaxDepth) throw TooDeep{};
          guard.stack.push_back({event == json::parse_event_t::object_start, {}});
          break;
        case json::parse_event_t::object_end:
        case json::parse_event_t::array_end:
          if (!guard.stack.empty()) guard.stack.pop_back();
          break;
        case json::parse_event_t::key:
          if (!guard.stack.empty() && guard.stack.back().is_object) {
            const auto& k = parsed.get_ref<const std::string&>();
            if (!guard.stack.back().keys.insert(k).second) guard.problems.push_back(k);
          }
          break;
        default: break;
      }
      return true;
    };
    doc = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const TooDeep&) {
    issues.push_back({"/", "nesting deeper than " + std::to_string(kMaxDepth) + " levels"});
    return std::nullopt;
  } catch (const json::out_of_range& e) {
    // Valid JSON syntax that a double cannot hold, such as 1e400 (found by fuzz/plan_parse_fuzz).
    const std::string what = e.what();
    const auto pos = what.find("] ");
    issues.push_back({"/", "not a usable JSON number: " + (pos == std::string::npos ? what : what.substr(pos + 2))});
    return std::nullopt;
  } catch (const json::parse_error& e) {
    // e.byte is the 1-based offset where parsing stopped; give line and column too.
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string what = e.what();
    auto pos = what.find("syntax error");
    if (pos == std::string::npos) pos = what.find("parse error");
    issues.push_back({"/", "not valid JSON at line " + std::to_string(line) + ", column " + std::to_string(col) + ": " +
                               (pos == std::string::npos ? what : what.substr(pos))});
    return std::nullopt;
  }
  for (const auto& k : guard.problems) issues.push_back({"/", "duplicate key \"" + k + "\" (each key may appear once per object)"});
  return doc;
}

}  // namespace

Result<Plan> parsePlan(std::string_view text, std::vector<PlanIssue>* issues_out) {
  std::vector<PlanIssue> issues;
  auto fail = [&]() -> Result<Plan> {
    // A plan with thousands of bad keys gets the first 50 lines and a count, not a flood.
    constexpr std::size_t kMaxLines = 50;
    std::string msg;
    for (std::size_t k = 0; k < issues.size() && k < kMaxLines; ++k) {
      msg += (msg.empty() ? "" : "\n") + issues[k].pointer + ": " + issues[k].message;
    }
    if (issues.size() > kMaxLines) msg += "\n/: ... and " + std::to_string(issues.size() - kMaxLines) + " more problems";
    if (issues_out) *issues_out = issues;
    return Error{msg};
  };
  if (text.size() > kMaxPlanBytes) {
    issues.push_back({"/", "plan is larger than " + std::to_string(kMaxPlanBytes) + " bytes"});
    return fail();
  }

  const std::optional<json> parsed = readPlanDocument(text, issues);
  if (!parsed) return fail();
  const json& doc = *parsed;

  Checker c(issues);
  Plan plan;
  plan.source = doc;
  if (c.checkObject(doc, "",
                    {"name", "description", "target", "sampling", "safety", "pprof", "stages", "checks", "baseline_stage", "$schema"})) {
    if (doc.contains("pprof")) parsePprof(c, doc["pprof"], "/pprof", plan.pprof);
    if (!doc.contains("name")) {
      c.issue("/name", "required: a name for the plan");
    } else if (auto n = c.str(doc["name"], "/name", 128)) {
      // The name becomes part of the default output directory: the same characters as stage names.
      if (n->empty())
        c.issue("/name", "must not be empty");
      else if (!validStageName(*n))
        c.issue("/name", "plan names use 1-64 of [A-Za-z0-9._-] (they name the output directory), got \"" + *n + "\"");
      plan.name = *n;
    }
    if (doc.contains("$schema")) (void)c.str(doc["$schema"], "/$schema");
    if (doc.contains("description")) {
      if (auto d = c.str(doc["description"], "/description")) plan.description = *d;
    }
    if (doc.contains("safety")) parseSafety(c, doc["safety"], plan.safety);
    if (doc.contains("sampling")) parseSampling(c, doc["sampling"], plan.sampling);
    if (!doc.contains("target")) {
      c.issue("/target", "required: what to put under pressure (\"launch\" or \"attach\")");
    } else {
      parseTarget(c, doc["target"], "/target", plan.target);
    }
    if (!doc.contains("stages")) {
      c.issue("/stages", "required: the list of stages");
    } else {
      parseStages(c, doc["stages"], "/stages", plan.safety, plan.stages);
    }
    if (std::any_of(plan.stages.begin(), plan.stages.end(), [](const StageSpec& st) { return st.name == "baseline"; })) {
      plan.baseline_stage = "baseline";
    }
    if (doc.contains("baseline_stage")) {
      if (auto b = c.str(doc["baseline_stage"], "/baseline_stage", 64)) {
        if (std::none_of(plan.stages.begin(), plan.stages.end(), [&](const StageSpec& st) { return st.name == *b; })) {
          c.issue("/baseline_stage", "no stage named \"" + *b + "\" in /stages");
        } else if (plan.baseline_stage.empty()) {
          plan.baseline_stage = *b;
        } else if (*b != plan.baseline_stage) {
          c.issue("/baseline_stage", "a stage is named \"baseline\"; it is the baseline, so this must be \"baseline\" or left out");
        }
      }
    }
    for (std::size_t i = 0; i < plan.stages.size(); ++i) {
      if (plan.stages[i].release && !plan.target.pprof_url) {
        c.issue("/stages/" + std::to_string(i) + "/release",
                "release verification reads HeapReleased through pprof: add /target/pprof_url");
      }
    }
    if (doc.contains("checks")) parseChecks(c, doc["checks"], "/checks", plan, plan.checks);
    if (doc.contains("pprof") && !plan.target.pprof_url) c.issue("/pprof", "pprof settings need /target/pprof_url");
    if (issues.empty() && plan.totalDuration() > plan.safety.max_duration) {
      c.issue("/stages", "the stages add up to " + formatDuration(plan.totalDuration()) + ", more than /safety/max_duration (" +
                             formatDuration(plan.safety.max_duration) + ")");
    }
  }
  if (!issues.empty()) return fail();
  if (issues_out) issues_out->clear();
  return plan;
}

Result<Plan> loadPlan(const std::string& path, std::vector<PlanIssue>* issues) {
  // A FIFO without a writer would block the read forever; devices and directories make no plans.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    const std::string msg = path + ": not a regular file";
    if (issues) *issues = {{"/", msg}};
    return Error{msg};
  }
  auto text = readFile(path, kMaxPlanBytes);
  if (!text) {
    if (issues) *issues = {{"/", text.error().message}};
    return Error{text.error().message};
  }
  auto plan = parsePlan(*text, issues);
  if (!plan) {
    std::string msg;
    std::istringstream lines(plan.error().message);
    for (std::string line; std::getline(lines, line);) msg += (msg.empty() ? "" : "\n") + path + ": " + line;
    return Error{msg};
  }
  return plan;
}

}  // namespace memstrain
