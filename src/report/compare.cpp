#include "memstrain/report/compare.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "memstrain/model/report_view.hpp"
#include "memstrain/report/escape.hpp"
#include "memstrain/report/report.hpp"
#include "memstrain/util/text.hpp"
#include "memstrain/util/units.hpp"

namespace memstrain {
namespace {

using nlohmann::json;

// (name, unit, value) of every figure compared for a stage.
struct Figure {
  std::string name, unit;
  std::optional<double> value;
};

std::vector<Figure> stageFigures(const ReportStageView& s) {
  std::vector<Figure> f;
  f.push_back({"duration", "s", s.durationS()});
  f.push_back({"usage.max", "bytes", s.usage_bytes.max});
  f.push_back({"usage.mean", "bytes", s.usage_bytes.mean});
  f.push_back({"target.rss.max", "bytes", s.target_rss_bytes.max});
  f.push_back({"oom_kills.target", "count", s.oom_kills_target});
  f.push_back({"oom_kills.stressor", "count", s.oom_kills_stressor});
  for (const ReportLatencyView& l : s.latency) {
    const std::string p = " [" + l.probe + "]";
    const std::pair<const char*, std::optional<double>> ms[] = {
        {"p50", l.p50_ms}, {"p90", l.p90_ms}, {"p99", l.p99_ms}, {"p999", l.p999_ms}, {"max", l.max_ms}};
    for (const auto& [q, v] : ms) f.push_back({std::string("latency.") + q + p, "ns", v ? std::optional<double>(*v * 1e6) : std::nullopt});
    f.push_back({"latency.error_rate" + p, "fraction", l.error_rate});
  }
  if (const auto& heap = s.heap) {
    f.push_back({"heap.live_objects.delta", "count", heap->live_objects_delta});
    f.push_back({"heap.live_bytes.delta", "bytes", heap->live_bytes_delta});
    f.push_back({"heap.live_objects.slope", "per_s", heap->live_objects_slope ? heap->live_objects_slope->per_s : std::nullopt});
    f.push_back({"heap.objects.delta", "count", heap->objects_delta});
    f.push_back({"heap.objects.slope", "per_s", heap->objects_slope_per_s});
    f.push_back({"heap.gc_cycles", "count", heap->gc_cycles});
    f.push_back({"heap.gc_cpu_fraction", "fraction", heap->gc_cpu_fraction});
  }
  if (const auto& fill = s.fill) {
    f.push_back({"pressure.fill_rate", "bytes_per_s", fill->bytes_per_s});
    f.push_back({"pressure.time_to_level", "s", fill->time_to_level_s});
  }
  if (const auto& psi = s.psi) {
    const std::string src = " (" + psi->source + ")";
    f.push_back({"psi.some_avg10.max" + src, "fraction", psi->some_avg10_max});
    f.push_back({"psi.some_stall" + src, "s", psi->some_stall_s});
  }
  return f;
}

void fillChange(CompareRow& r) {
  if (r.a && r.b) {
    r.delta = *r.b - *r.a;
    if (*r.a != 0) r.percent = 100.0 * (*r.b - *r.a) / std::fabs(*r.a);
  }
}

Status checkReport(const json& j, const ReportView& v, const std::string& label) {
  if (!j.is_object()) return Error{label + ": not a JSON object"};
  if (v.schema_version != kReportSchemaVersion) {
    return Error{label + ": not a memstrain report.json of schema_version " + std::to_string(kReportSchemaVersion)};
  }
  if (!v.has_stages_array) return Error{label + ": no \"stages\" array"};
  if (!v.has_checks_array) return Error{label + ": no \"checks\" array"};
  return {};
}

std::string formatValue(const std::string& unit, std::optional<double> v) {
  if (!v) return "-";
  char b[64];
  const double x = *v;
  if (unit == "ns")
    std::snprintf(b, sizeof b, "%.1f ms", x / 1e6);
  else if (unit == "bytes")
    std::snprintf(b, sizeof b, "%.1f MiB", x / (1024.0 * 1024.0));
  else if (unit == "fraction")
    std::snprintf(b, sizeof b, "%.2f%%", x * 100);
  else if (unit == "per_s")
    std::snprintf(b, sizeof b, "%.1f/s", x);
  else if (unit == "bytes_per_s")
    std::snprintf(b, sizeof b, "%.1f MiB/s", x / (1024.0 * 1024.0));
  else if (unit == "s")
    std::snprintf(b, sizeof b, "%.2f s", x);
  else if (x == std::floor(x) && std::fabs(x) < 1e15)
    std::snprintf(b, sizeof b, "%.0f", x);
  else
    std::snprintf(b, sizeof b, "%.2f", x);
  return b;
}

std::string formatDelta(const CompareRow& r) {
  if (!r.delta) return "-";
  std::string d = formatValue(r.unit, r.delta);
  if (*r.delta > 0) d = "+" + d;
  if (r.percent) {
    char b[32];
    std::snprintf(b, sizeof b, " (%+.1f%%)", *r.percent);
    d += b;
  }
  return d;
}

std::string cellA(const CompareRow& r) {
  std::string s = formatValue(r.unit, r.a);
  if (!r.outcome_a.empty()) s += " " + r.outcome_a;
  return s;
}
std::string cellB(const CompareRow& r) {
  std::string s = formatValue(r.unit, r.b);
  if (!r.outcome_b.empty()) s += " " + r.outcome_b;
  return s;
}

// An amount in a figure's unit: durations for "ns" and "s", sizes for "bytes", plain numbers
// otherwise ("0.01" for a fraction, "2" for a count).
Result<double> parseAmount(const std::string& unit, const std::string& text) {
  if (unit == "ns" || unit == "s") {
    auto d = parseDuration(text);
    if (!d) return d.error();
    return unit == "ns" ? static_cast<double>(d->count()) : static_cast<double>(d->count()) / 1e9;
  }
  if (unit == "bytes") {
    auto b = parseSize(text);
    if (!b) return b.error();
    return static_cast<double>(*b);
  }
  if (auto v = parseDouble(text); v && std::isfinite(*v) && *v >= 0) return *v;
  return Error{"expected a number, got \"" + text + "\""};
}

// "latency.p99 [work]" matches "latency.p99"; "psi.some_stall (system)" matches "psi.some_stall".
bool figureMatches(const std::string& row_name, const std::string& figure) {
  if (row_name == figure) return true;
  return row_name.size() > figure.size() + 1 && row_name.compare(0, figure.size(), figure) == 0 && row_name[figure.size()] == ' ';
}

}  // namespace

Result<FailRule> parseFailRule(const std::string& text) {
  const std::string expected =
      "--fail-on: expected check-regressed, verdict, or FIGURE[@STAGE]:+LIMIT like \"p99:+20%\", \"latency.p99@hold:+20%+2ms\" or "
      "\"usage.max:+64MiB\", got \"" +
      text + "\"";
  FailRule r;
  r.text = text;
  if (text == "check-regressed") return r;
  if (text == "verdict") {
    r.kind = FailRule::Kind::kVerdict;
    return r;
  }
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return Error{expected};
  std::string lhs = text.substr(0, colon);
  std::string rhs(trim(text.substr(colon + 1)));
  r.kind = FailRule::Kind::kFigureRise;
  if (const auto at = lhs.find('@'); at != std::string::npos) {
    r.stage = lhs.substr(at + 1);
    lhs = lhs.substr(0, at);
    if (r.stage.empty()) return Error{expected + " (empty stage after @)"};
  }
  r.figure = std::string(trim(lhs));
  if (r.figure == "p50" || r.figure == "p90" || r.figure == "p99" || r.figure == "p999") r.figure = "latency." + r.figure;
  if (r.figure.empty()) return Error{expected};
  if (rhs.empty() || rhs.front() != '+') return Error{expected + " (the limit is a rise: it starts with +)"};
  rhs.erase(0, 1);
  // "20%", "2ms", "20%+2ms" (either order).
  std::size_t i = 0;
  bool any = false;
  while (i < rhs.size()) {
    std::size_t j = rhs.find('+', i);
    if (j == std::string::npos) j = rhs.size();
    const std::string term(trim(rhs.substr(i, j - i)));
    i = j + 1;
    if (term.empty()) return Error{expected};
    if (looksLikePercent(term)) {
      auto p = parsePercent(term);
      if (!p) return Error{expected + " (" + p.error().message + ")"};
      r.fraction += *p;
    } else {
      if (!r.amount_text.empty()) return Error{expected + " (one amount at most)"};
      // Read against each figure's unit later; here it must at least be some amount.
      const auto number = parseDouble(term);
      if (!parseDuration(term) && !parseSize(term) && !(number && std::isfinite(*number) && *number >= 0)) {
        return Error{expected + " (\"" + term + "\" is not a percent, a duration, a size or a number)"};
      }
      r.amount_text = term;
    }
    any = true;
  }
  if (!any) return Error{expected};
  return r;
}

Result<std::vector<GateFinding>> evaluateFailRules(const ReportComparison& c, const std::vector<FailRule>& rules) {
  std::vector<GateFinding> out;
  for (const FailRule& rule : rules) {
    switch (rule.kind) {
      case FailRule::Kind::kCheckRegressed:
        for (const auto& r : c.rows) {
          if (r.section == "check" && r.outcome_a == "pass" && r.outcome_b == "fail") {
            out.push_back({rule.text, "check \"" + r.name + "\" @ " + r.stage + ": pass -> fail (" + cellA(r) + " -> " + cellB(r) + ")"});
          }
        }
        break;
      case FailRule::Kind::kVerdict:
        if (c.verdict_a == "pass" && c.verdict_b != "pass") out.push_back({rule.text, "verdict: pass -> " + c.verdict_b});
        break;
      case FailRule::Kind::kFigureRise: {
        bool matched = false;
        for (const auto& r : c.rows) {
          if (r.section != "stage" || !figureMatches(r.name, rule.figure)) continue;
          if (!rule.stage.empty() && r.stage != rule.stage) continue;
          matched = true;
          double amount = 0;
          if (!rule.amount_text.empty()) {
            auto a = parseAmount(r.unit, rule.amount_text);
            if (!a) return Error{"--fail-on " + rule.text + ": " + r.name + " is in " + r.unit + ": " + a.error().message};
            amount = *a;
          }
          if (!r.a || !r.b) continue;  // not in both runs: nothing to compare
          const double limit = *r.a + std::fabs(*r.a) * rule.fraction + amount;
          if (*r.b > limit) {
            out.push_back({rule.text, r.name + " @ " + r.stage + ": " + formatValue(r.unit, r.a) + " -> " + formatValue(r.unit, r.b) +
                                          " (" + formatDelta(r) + ") > limit " + formatValue(r.unit, limit)});
          }
        }
        if (!matched) {
          return Error{"--fail-on " + rule.text + ": no figure \"" + rule.figure + "\"" +
                       (rule.stage.empty() ? "" : " in stage \"" + rule.stage + "\"") +
                       " in either report (figures: duration, usage.max, usage.mean, target.rss.max, oom_kills.target, "
                       "oom_kills.stressor, latency.p50/p90/p99/p999/max, latency.error_rate, heap.live_objects.delta, "
                       "heap.live_bytes.delta, heap.live_objects.slope, heap.objects.delta, heap.objects.slope, heap.gc_cycles, "
                       "heap.gc_cpu_fraction, psi.some_avg10.max, psi.some_stall)"};
        }
        break;
      }
    }
  }
  return out;
}

Result<ReportComparison> compareReports(const json& a_json, const json& b_json, const std::string& label_a, const std::string& label_b) {
  const ReportView a = decodeReport(a_json);
  const ReportView b = decodeReport(b_json);
  if (auto st = checkReport(a_json, a, label_a); !st) return st.error();
  if (auto st = checkReport(b_json, b, label_b); !st) return st.error();
  ReportComparison c;
  c.label_a = label_a;
  c.label_b = label_b;
  c.plan_a = a.plan_name;
  c.plan_b = b.plan_name;
  c.verdict_a = a.verdict;
  c.verdict_b = b.verdict;
  c.status_a = a.run_status;
  c.status_b = b.run_status;
  // Stages: A's order, then those only B has.
  std::vector<std::string> stages;
  for (const auto& s : a.stages) stages.push_back(s.name);
  for (const auto& s : b.stages) {
    if (std::find(stages.begin(), stages.end(), s.name) == stages.end()) stages.push_back(s.name);
  }
  for (const std::string& stage : stages) {
    const ReportStageView* sa = a.stage(stage);
    const ReportStageView* sb = b.stage(stage);
    std::vector<Figure> fa = sa ? stageFigures(*sa) : std::vector<Figure>{};
    std::vector<Figure> fb = sb ? stageFigures(*sb) : std::vector<Figure>{};
    std::vector<std::pair<std::string, std::string>> names;
    for (const auto& f : fa) names.emplace_back(f.name, f.unit);
    for (const auto& f : fb) {
      if (std::none_of(names.begin(), names.end(), [&](const auto& n) { return n.first == f.name; })) names.emplace_back(f.name, f.unit);
    }
    for (const auto& [name, unit] : names) {
      CompareRow r;
      r.section = "stage";
      r.stage = stage;
      r.name = name;
      r.unit = unit;
      for (const auto& f : fa) {
        if (f.name == name) r.a = f.value;
      }
      for (const auto& f : fb) {
        if (f.name == name) r.b = f.value;
      }
      fillChange(r);
      c.rows.push_back(std::move(r));
    }
  }
  // Checks: one row per check x stage, in A's order then B-only ones.
  auto key = [](const ReportCheckView& x) { return x.name + "\x1f" + x.stage; };
  std::vector<std::string> keys;
  for (const auto& x : a.checks) keys.push_back(key(x));
  for (const auto& x : b.checks) {
    if (std::find(keys.begin(), keys.end(), key(x)) == keys.end()) keys.push_back(key(x));
  }
  auto findCheck = [&](const std::vector<ReportCheckView>& checks, const std::string& k) -> const ReportCheckView* {
    for (const auto& x : checks) {
      if (key(x) == k) return &x;
    }
    return nullptr;
  };
  for (const std::string& k : keys) {
    const ReportCheckView* ca = findCheck(a.checks, k);
    const ReportCheckView* cb = findCheck(b.checks, k);
    const ReportCheckView& any = ca ? *ca : *cb;
    CompareRow r;
    r.section = "check";
    r.name = any.name;
    r.stage = any.stage;
    r.unit = any.unit;
    if (ca) {
      r.a = ca->observed;
      r.outcome_a = ca->outcome;
    }
    if (cb) {
      r.b = cb->observed;
      r.outcome_b = cb->outcome;
    }
    fillChange(r);
    if (!r.outcome_a.empty() && !r.outcome_b.empty() && r.outcome_a != r.outcome_b) {
      c.changed_outcomes.push_back(r.name + " @ " + r.stage + ": " + r.outcome_a + " -> " + r.outcome_b);
    }
    c.rows.push_back(std::move(r));
  }
  return c;
}

std::string renderCompareTable(const ReportComparison& c) {
  std::ostringstream o;
  o << "A: " << c.label_a << "  (plan " << c.plan_a << ", verdict " << c.verdict_a << ", run " << c.status_a << ")\n";
  o << "B: " << c.label_b << "  (plan " << c.plan_b << ", verdict " << c.verdict_b << ", run " << c.status_b << ")\n";
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : c.rows) cells.push_back({r.section, r.stage, r.name, cellA(r), cellB(r), formatDelta(r)});
  const std::vector<std::string> head = {"kind", "stage", "figure / check", "A", "B", "change"};
  std::vector<std::size_t> w(head.size());
  for (std::size_t i = 0; i < head.size(); ++i) w[i] = head[i].size();
  for (const auto& row : cells) {
    for (std::size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], row[i].size());
  }
  auto line = [&](const std::vector<std::string>& row) {
    std::string s;
    for (std::size_t i = 0; i < row.size(); ++i) {
      std::string cell = row[i];
      cell.resize(w[i], ' ');
      s += (i ? "  " : "") + cell;
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    o << s << "\n";
  };
  o << "\n";
  line(head);
  for (const auto& row : cells) line(row);
  if (!c.changed_outcomes.empty()) {
    o << "\nchecks whose outcome changed:\n";
    for (const auto& s : c.changed_outcomes) o << "  " << s << "\n";
  }
  return o.str();
}

std::string renderCompareMarkdown(const ReportComparison& c) {
  auto cell = [](const std::string& s) { return markdownCell(s); };
  std::ostringstream o;
  o << "### memstrain compare\n\n";
  o << "| | report | plan | verdict | run |\n| --- | --- | --- | --- | --- |\n";
  o << "| A | " << cell(c.label_a) << " | " << cell(c.plan_a) << " | " << c.verdict_a << " | " << c.status_a << " |\n";
  o << "| B | " << cell(c.label_b) << " | " << cell(c.plan_b) << " | " << c.verdict_b << " | " << c.status_b << " |\n\n";
  for (const char* section : {"stage", "check"}) {
    o << (std::string(section) == "stage" ? "#### Stages\n\n| stage | figure | A | B | change |\n"
                                          : "\n#### Checks\n\n| stage | check | A | B | change |\n");
    o << "| --- | --- | ---: | ---: | ---: |\n";
    for (const auto& r : c.rows) {
      if (r.section != section) continue;
      o << "| " << cell(r.stage) << " | " << cell(r.name) << " | " << cell(cellA(r)) << " | " << cell(cellB(r)) << " | "
        << cell(formatDelta(r)) << " |\n";
    }
  }
  if (!c.changed_outcomes.empty()) {
    o << "\nOutcome changed: ";
    for (std::size_t i = 0; i < c.changed_outcomes.size(); ++i) o << (i ? "; " : "") << cell(c.changed_outcomes[i]);
    o << "\n";
  }
  return o.str();
}

json compareToJson(const ReportComparison& c) {
  auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  json rows = json::array();
  for (const auto& r : c.rows) {
    json row = {{"section", r.section}, {"stage", r.stage}, {"name", r.name},        {"unit", r.unit},
                {"a", opt(r.a)},        {"b", opt(r.b)},    {"delta", opt(r.delta)}, {"percent", opt(r.percent)}};
    if (r.section == "check") {
      row["outcome_a"] = r.outcome_a.empty() ? json(nullptr) : json(r.outcome_a);
      row["outcome_b"] = r.outcome_b.empty() ? json(nullptr) : json(r.outcome_b);
    }
    rows.push_back(std::move(row));
  }
  return {{"a", {{"report", c.label_a}, {"plan", c.plan_a}, {"verdict", c.verdict_a}, {"status", c.status_a}}},
          {"b", {{"report", c.label_b}, {"plan", c.plan_b}, {"verdict", c.verdict_b}, {"status", c.status_b}}},
          {"rows", rows},
          {"changed_outcomes", c.changed_outcomes}};
}

}  // namespace memstrain
