#include "memstrain/headroom/headroom.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <map>
#include <set>

#include "memstrain/model/exit_code.hpp"
#include "memstrain/util/units.hpp"

namespace memstrain {

using nlohmann::json;

namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kPercentQuantum = 0.001;  // 0.1%
constexpr double kMinMemoryLimit = 16 * kMiB;

// Two decimals at most, trailing zeros dropped: 72.5, 80, 12.25.
std::string trimmedNumber(double v) {
  char b[48];
  std::snprintf(b, sizeof b, "%.2f", v);
  std::string s = b;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

Result<double> parseFraction(std::string_view text, const char* what) {
  if (!looksLikePercent(text)) return Error{std::string(what) + " \"" + std::string(text) + "\": expected a percent like 80%"};
  auto p = parsePercent(text);
  if (!p) return Error{std::string(what) + " \"" + std::string(text) + "\": " + p.error().message};
  if (*p <= 0 || *p > 1) return Error{std::string(what) + " \"" + std::string(text) + "\": expected a percent above 0% and at most 100%"};
  return *p;
}

Result<double> parseBytes(std::string_view text, const char* what) {
  if (looksLikePercent(text)) return Error{std::string(what) + " \"" + std::string(text) + "\": expected a size like 256MiB"};
  auto s = parseSize(text);
  if (!s) return Error{std::string(what) + " \"" + std::string(text) + "\": " + s.error().message};
  if (*s == 0) return Error{std::string(what) + " \"" + std::string(text) + "\": expected a size above 0"};
  return static_cast<double>(*s);
}

double snap(const HeadroomRange& r, double v) { return std::round(v / r.quantum) * r.quantum; }

bool near(double a, double b, const HeadroomRange& r) { return std::abs(a - b) < r.quantum * 1e-6; }

}  // namespace

const char* toString(HeadroomVariable v) {
  switch (v) {
    case HeadroomVariable::kLevel: return "level";
    case HeadroomVariable::kMemoryLimit: return "memory_limit";
    case HeadroomVariable::kGomemlimit: return "gomemlimit";
  }
  return "?";
}

Result<HeadroomVariable> parseHeadroomVariable(std::string_view text) {
  if (text == "level") return HeadroomVariable::kLevel;
  if (text == "memory_limit") return HeadroomVariable::kMemoryLimit;
  if (text == "gomemlimit" || text == "GOMEMLIMIT") return HeadroomVariable::kGomemlimit;
  return Error{"--vary \"" + std::string(text) + "\": expected level, memory_limit or gomemlimit"};
}

Result<HeadroomRange> parseHeadroomRange(HeadroomVariable variable, std::string_view from, std::string_view to,
                                         std::string_view resolution) {
  HeadroomRange r;
  r.variable = variable;
  r.percent = variable == HeadroomVariable::kLevel || (variable == HeadroomVariable::kGomemlimit && looksLikePercent(from));
  if (variable == HeadroomVariable::kGomemlimit && looksLikePercent(from) != looksLikePercent(to)) {
    return Error{"--from " + std::string(from) + " --to " + std::string(to) + ": give both as sizes or both as percents of the limit"};
  }
  auto parseOne = [&](std::string_view text, const char* what) { return r.percent ? parseFraction(text, what) : parseBytes(text, what); };
  auto a = parseOne(from, "--from");
  if (!a) return a.error();
  auto b = parseOne(to, "--to");
  if (!b) return b.error();
  r.from = *a;
  r.to = *b;
  r.quantum = r.percent ? kPercentQuantum : kMiB;
  if (variable == HeadroomVariable::kMemoryLimit && std::min(r.from, r.to) < kMinMemoryLimit) {
    return Error{"--from/--to: a memory_limit below 16MiB leaves no room for the target and memstrain's margin"};
  }
  const double width = std::abs(r.to - r.from);
  if (width < r.quantum) {
    return Error{"--from " + std::string(from) + " --to " + std::string(to) + ": the range is empty (at least " +
                 (r.percent ? std::string("0.1%") : std::string("1MiB")) + " apart)"};
  }
  if (resolution.empty()) {
    const double floor_res = r.percent ? 0.01 : kMiB;
    r.resolution = std::max(floor_res, std::ceil(width / 16 / r.quantum) * r.quantum);
    r.resolution = std::min(r.resolution, width / 2);
  } else {
    auto res = r.percent ? parseFraction(resolution, "--resolution") : parseBytes(resolution, "--resolution");
    if (!res) return res.error();
    r.resolution = *res;
    if (r.resolution < r.quantum) return Error{"--resolution must be at least " + std::string(r.percent ? "0.1%" : "1MiB")};
    if (r.resolution >= width) {
      return Error{"--resolution " + std::string(resolution) + " is not smaller than the range: nothing to search between the two ends"};
    }
  }
  return r;
}

std::string formatHeadroomValue(const HeadroomRange& range, double value) {
  if (range.percent) return trimmedNumber(value * 100) + "%";
  return formatBytes(static_cast<std::uint64_t>(std::llround(value)));
}

std::string headroomValueText(const HeadroomRange& range, double value) {
  if (range.percent) return trimmedNumber(value * 100) + "%";
  return std::to_string(std::llround(value));
}

std::string headroomValueDir(const HeadroomRange& range, double value) {
  std::string v;
  if (range.percent) {
    v = trimmedNumber(value * 100) + "pct";
  } else {
    const auto bytes = static_cast<std::uint64_t>(std::llround(value));
    v = bytes % (1u << 20) == 0 ? std::to_string(bytes >> 20) + "MiB" : std::to_string(bytes) + "B";
  }
  return std::string(toString(range.variable)) + "-" + v;
}

Result<json> headroomPlanJson(const json& source, const LaunchSpec& launch, const HeadroomRange& range, double value,
                              const std::string& cwd) {
  std::map<std::string, std::string> env = launch.env;
  if (range.variable == HeadroomVariable::kGomemlimit) {
    SweepSetting s;
    s.values.emplace_back("GOMEMLIMIT", headroomValueText(range, value));
    auto e = settingEnvironment(s, launch);
    if (!e) return e.error();
    env = std::move(*e);
  }
  auto copy = settingPlanJson(source, env, cwd);
  if (!copy) return copy.error();
  if (range.variable == HeadroomVariable::kMemoryLimit) {
    (*copy)["target"]["launch"]["memory_limit"] = headroomValueText(range, value);
  } else if (range.variable == HeadroomVariable::kLevel) {
    std::size_t set = 0;
    if (copy->contains("stages") && (*copy)["stages"].is_array()) {
      for (auto& stage : (*copy)["stages"]) {
        if (!stage.is_object() || !stage.contains("pressure") || !stage["pressure"].is_object()) continue;
        json& p = stage["pressure"];
        if (!p.contains("level")) continue;
        p["level"] = headroomValueText(range, value);
        ++set;
      }
    }
    if (set == 0) {
      return Error{"--vary level: the plan has no stage with pressure.level (stages with a fixed pressure.size are not varied)"};
    }
  }
  return copy;
}

const char* toString(TrialVerdict v) {
  switch (v) {
    case TrialVerdict::kPass: return "pass";
    case TrialVerdict::kFail: return "fail";
    case TrialVerdict::kNotJudged: return "not judged";
    case TrialVerdict::kInterrupted: return "interrupted";
  }
  return "?";
}

TrialVerdict trialVerdictOf(const SweepRunFigures& f) {
  if (f.exit_code == kExitInterrupted) return TrialVerdict::kInterrupted;
  if (f.verdict == "pass") return TrialVerdict::kPass;
  if (f.verdict == "fail") return TrialVerdict::kFail;
  return TrialVerdict::kNotJudged;
}

const char* toString(TrialPurpose p) {
  switch (p) {
    case TrialPurpose::kEndpoint: return "end";
    case TrialPurpose::kBisect: return "bisect";
    case TrialPurpose::kRecheck: return "recheck";
  }
  return "?";
}

const char* toString(SearchEnd e) {
  switch (e) {
    case SearchEnd::kEdge: return "edge";
    case SearchEnd::kAllPass: return "all_pass";
    case SearchEnd::kAllFail: return "all_fail";
    case SearchEnd::kBudget: return "budget";
    case SearchEnd::kNotJudged: return "not_judged";
    case SearchEnd::kInterrupted: return "interrupted";
  }
  return "?";
}

HeadroomOutcome searchHeadroom(const HeadroomRange& range, const HeadroomSearchOptions& options, const HeadroomRunner& runner) {
  HeadroomOutcome out;
  out.pass_low = range.variable != HeadroomVariable::kMemoryLimit;
  struct Tally {
    int pass = 0, fail = 0;
  };
  std::map<double, Tally> tally;
  std::optional<SearchEnd> stopped;

  // Runs up to `runs` times at v, stopping at the first fail. Returns the value's verdict over
  // all its runs, or nullopt when the search must stop (budget, unjudged run, signal).
  auto runPoint = [&](double v, TrialPurpose purpose, int runs) -> std::optional<bool> {
    for (int k = 0; k < runs; ++k) {
      if (static_cast<int>(out.trials.size()) >= options.max_runs) {
        stopped = SearchEnd::kBudget;
        return std::nullopt;
      }
      Tally& t = tally[v];
      HeadroomTrial trial;
      trial.seq = out.trials.size() + 1;
      trial.value = v;
      trial.purpose = purpose;
      trial.attempt =
          1 + static_cast<int>(std::count_if(out.trials.begin(), out.trials.end(), [&](const HeadroomTrial& x) { return x.value == v; }));
      trial.figures = runner(v, purpose, trial.attempt, trial.took_s);
      trial.verdict = trialVerdictOf(trial.figures);
      out.trials.push_back(trial);
      switch (trial.verdict) {
        case TrialVerdict::kPass: ++t.pass; break;
        case TrialVerdict::kFail: ++t.fail; return false;
        case TrialVerdict::kNotJudged: stopped = SearchEnd::kNotJudged; return std::nullopt;
        case TrialVerdict::kInterrupted: stopped = SearchEnd::kInterrupted; return std::nullopt;
      }
    }
    return tally[v].fail == 0;
  };
  auto passSide = [&](double y, double x) { return out.pass_low ? y < x : y > x; };  // y lies on the passing side of x
  auto finish = [&](SearchEnd end) {
    out.end = end;
    for (const auto& [v, t] : tally) {
      if (t.pass > 0 && t.fail > 0) {
        out.flaky_values.push_back(v);
        out.non_monotonic.push_back(formatHeadroomValue(range, v) + ": " + std::to_string(t.pass) + " of " +
                                    std::to_string(t.pass + t.fail) + " runs passed (flaky: counted as failing)");
      }
    }
    for (const auto& [x, tx] : tally) {
      if (tx.fail > 0 || tx.pass == 0) continue;
      for (const auto& [y, ty] : tally) {
        if (ty.fail == 0 || !passSide(y, x)) continue;
        out.non_monotonic.push_back(formatHeadroomValue(range, y) + " failed although " + formatHeadroomValue(range, x) +
                                    ", further toward the failing side, passed");
      }
    }
    return out;
  };

  auto a = runPoint(range.from, TrialPurpose::kEndpoint, options.repeat);
  if (!a) return finish(*stopped);
  (*a ? out.passing : out.failing) = range.from;
  auto b = runPoint(range.to, TrialPurpose::kEndpoint, options.repeat);
  if (!b) return finish(*stopped);
  if (*a == *b) {
    const double lo = std::min(range.from, range.to), hi = std::max(range.from, range.to);
    if (*a) {
      out.failing.reset();
      out.passing = out.pass_low ? hi : lo;
      return finish(SearchEnd::kAllPass);
    }
    out.passing.reset();
    out.failing = out.pass_low ? lo : hi;
    return finish(SearchEnd::kAllFail);
  }
  double pass_v = *a ? range.from : range.to;
  double fail_v = *a ? range.to : range.from;
  out.pass_low = pass_v < fail_v;
  std::set<double> rechecked;
  auto bracketEnd = [&](SearchEnd end) {
    out.passing = pass_v;
    out.failing = fail_v;
    // A budget spent during the rechecks still leaves an edge within the resolution.
    if (end == SearchEnd::kBudget && std::abs(fail_v - pass_v) <= range.resolution + range.quantum * 1e-6) {
      out.notes.push_back("the run budget (--max-runs) ended the rechecks of the boundary values");
      end = SearchEnd::kEdge;
    }
    return finish(end);
  };
  while (true) {
    while (std::abs(fail_v - pass_v) > range.resolution + range.quantum * 1e-6) {
      const double mid = snap(range, (pass_v + fail_v) / 2);
      if (near(mid, pass_v, range) || near(mid, fail_v, range)) break;  // no quantum left between them
      auto r = runPoint(mid, TrialPurpose::kBisect, options.repeat);
      if (!r) return bracketEnd(*stopped);
      (*r ? pass_v : fail_v) = mid;
    }
    if (options.rechecks <= 0) break;
    if (rechecked.insert(pass_v).second) {
      auto r = runPoint(pass_v, TrialPurpose::kRecheck, options.repeat * options.rechecks);
      if (!r) return bracketEnd(*stopped);
      if (!*r) {
        // The passing bound failed on a second look: it is the failing bound now, and the search
        // goes on from the nearest value that passed every run.
        fail_v = pass_v;
        std::optional<double> next;
        for (const auto& [v, t] : tally) {
          if (t.fail > 0 || t.pass == 0 || !passSide(v, fail_v)) continue;
          if (!next || std::abs(v - fail_v) < std::abs(*next - fail_v)) next = v;
        }
        if (!next) {
          out.passing.reset();
          out.failing = fail_v;
          return finish(SearchEnd::kAllFail);
        }
        pass_v = *next;
        continue;
      }
    }
    if (rechecked.insert(fail_v).second) {
      // A failing bound stays failing whatever its rechecks show; a pass here is reported as flaky.
      auto r = runPoint(fail_v, TrialPurpose::kRecheck, options.repeat * options.rechecks);
      if (!r) return bracketEnd(*stopped);
    }
    break;
  }
  return bracketEnd(SearchEnd::kEdge);
}

std::vector<double> headroomCandidatePoints(const HeadroomRange& range, std::size_t limit) {
  std::vector<double> out = {range.from, range.to};
  std::deque<std::pair<double, double>> queue = {{range.from, range.to}};
  while (!queue.empty() && out.size() < limit) {
    const auto [a, b] = queue.front();
    queue.pop_front();
    if (std::abs(b - a) <= range.resolution + range.quantum * 1e-6) continue;
    const double mid = snap(range, (a + b) / 2);
    if (near(mid, a, range) || near(mid, b, range)) continue;
    out.push_back(mid);
    queue.emplace_back(a, mid);
    queue.emplace_back(mid, b);
  }
  if (out.size() > limit) out.resize(limit);
  return out;
}

int bisectionSteps(const HeadroomRange& range) {
  int steps = 0;
  double w = std::abs(range.to - range.from);
  while (w > range.resolution + range.quantum * 1e-6 && steps < 64) {
    w /= 2;
    ++steps;
  }
  return steps;
}

}  // namespace memstrain
