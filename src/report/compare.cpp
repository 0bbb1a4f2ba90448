#include "memstrain/report/compare.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "memstrain/report/report.hpp"

namespace memstrain {
namespace {

using nlohmann::json;

// A number at `path` (keys) inside `j`, or nullopt when a key is missing or the value is not a
// number (null in the report means "no data").
std::optional<double> numberAt(const json& j, std::initializer_list<const char*> path) {
  const json* cur = &j;
  for (const char* k : path) {
    if (!cur->is_object() || !cur->contains(k)) return std::nullopt;
    cur = &(*cur)[k];
  }
  if (!cur->is_number()) return std::nullopt;
  return cur->get<double>();
}

std::string stringAt(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

// (name, unit, value) of every figure compared for a stage.
struct Figure {
  std::string name, unit;
  std::optional<double> value;
};

std::vector<Figure> stageFigures(const json& s) {
  std::vector<Figure> f;
  std::optional<double> dur;
  if (auto a = numberAt(s, {"start_s"}), b = numberAt(s, {"end_s"}); a && b) dur = *b - *a;
  f.push_back({"duration", "s", dur});
  f.push_back({"usage.max", "bytes", numberAt(s, {"usage_bytes", "max"})});
  f.push_back({"usage.mean", "bytes", numberAt(s, {"usage_bytes", "mean"})});
  f.push_back({"target.rss.max", "bytes", numberAt(s, {"target_rss_bytes", "max"})});
  f.push_back({"oom_kills.target", "count", numberAt(s, {"oom_kills", "target"})});
  f.push_back({"oom_kills.stressor", "count", numberAt(s, {"oom_kills", "stressor"})});
  if (s.contains("latency") && s["latency"].is_array()) {
    for (const json& l : s["latency"]) {
      const std::string p = " [" + stringAt(l, "probe") + "]";
      for (const char* q : {"p50", "p90", "p99", "p999", "max"}) {
        const std::string key = std::string(q) + "_ms";
        std::optional<double> ns;
        if (l.contains("corrected") && l["corrected"].contains(key) && l["corrected"][key].is_number()) {
          ns = l["corrected"][key].get<double>() * 1e6;
        }
        f.push_back({std::string("latency.") + q + p, "ns", ns});
      }
      f.push_back({"latency.error_rate" + p, "fraction", numberAt(l, {"error_rate"})});
    }
  }
  if (s.contains("heap") && s["heap"].is_object()) {
    f.push_back({"heap.objects.delta", "count", numberAt(s, {"heap", "objects_delta"})});
    f.push_back({"heap.objects.slope", "per_s", numberAt(s, {"heap", "objects_slope_per_s"})});
    f.push_back({"heap.gc_cycles", "count", numberAt(s, {"heap", "gc_cycles"})});
    f.push_back({"heap.gc_cpu_fraction", "fraction", numberAt(s, {"heap", "gc_cpu_fraction"})});
  }
  if (s.contains("psi") && s["psi"].is_object()) {
    const std::string src = " (" + stringAt(s["psi"], "source") + ")";
    f.push_back({"psi.some_avg10.max" + src, "fraction", numberAt(s, {"psi", "some_avg10_max"})});
    f.push_back({"psi.some_stall" + src, "s", numberAt(s, {"psi", "some_stall_s"})});
  }
  return f;
}

void fillChange(CompareRow& r) {
  if (r.a && r.b) {
    r.delta = *r.b - *r.a;
    if (*r.a != 0) r.percent = 100.0 * (*r.b - *r.a) / std::fabs(*r.a);
  }
}

const json* findByName(const json& arr, const std::string& name) {
  for (const json& x : arr) {
    if (stringAt(x, "name") == name) return &x;
  }
  return nullptr;
}

Status checkReport(const json& j, const std::string& label) {
  if (!j.is_object()) return Error{label + ": not a JSON object"};
  if (!j.contains("schema_version") || !j["schema_version"].is_number_integer() || j["schema_version"].get<int>() != kReportSchemaVersion) {
    return Error{label + ": not a memstrain report.json of schema_version " + std::to_string(kReportSchemaVersion)};
  }
  if (!j.contains("stages") || !j["stages"].is_array()) return Error{label + ": no \"stages\" array"};
  if (!j.contains("checks") || !j["checks"].is_array()) return Error{label + ": no \"checks\" array"};
  return {};
}

std::string formatValue(const std::string& unit, std::optional<double> v) {
  if (!v) return "-";
  char b[64];
  const double x = *v;
  if (unit == "ns") std::snprintf(b, sizeof b, "%.1f ms", x / 1e6);
  else if (unit == "bytes") std::snprintf(b, sizeof b, "%.1f MiB", x / (1024.0 * 1024.0));
  else if (unit == "fraction") std::snprintf(b, sizeof b, "%.2f%%", x * 100);
  else if (unit == "per_s") std::snprintf(b, sizeof b, "%.1f/s", x);
  else if (unit == "s") std::snprintf(b, sizeof b, "%.2f s", x);
  else if (x == std::floor(x) && std::fabs(x) < 1e15) std::snprintf(b, sizeof b, "%.0f", x);
  else std::snprintf(b, sizeof b, "%.2f", x);
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

}  // namespace

Result<ReportComparison> compareReports(const json& a, const json& b, const std::string& label_a, const std::string& label_b) {
  if (auto st = checkReport(a, label_a); !st) return st.error();
  if (auto st = checkReport(b, label_b); !st) return st.error();
  ReportComparison c;
  c.label_a = label_a;
  c.label_b = label_b;
  c.plan_a = a.contains("plan") ? stringAt(a["plan"], "name") : "";
  c.plan_b = b.contains("plan") ? stringAt(b["plan"], "name") : "";
  c.verdict_a = stringAt(a, "verdict");
  c.verdict_b = stringAt(b, "verdict");
  c.status_a = a.contains("run") ? stringAt(a["run"], "status") : "";
  c.status_b = b.contains("run") ? stringAt(b["run"], "status") : "";
  // Stages: A's order, then those only B has.
  std::vector<std::string> stages;
  for (const json& s : a["stages"]) stages.push_back(stringAt(s, "name"));
  for (const json& s : b["stages"]) {
    const std::string n = stringAt(s, "name");
    if (std::find(stages.begin(), stages.end(), n) == stages.end()) stages.push_back(n);
  }
  for (const std::string& stage : stages) {
    const json* sa = findByName(a["stages"], stage);
    const json* sb = findByName(b["stages"], stage);
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
  auto key = [](const json& x) { return stringAt(x, "name") + "\x1f" + stringAt(x, "stage"); };
  std::vector<std::string> keys;
  for (const json& x : a["checks"]) keys.push_back(key(x));
  for (const json& x : b["checks"]) {
    if (std::find(keys.begin(), keys.end(), key(x)) == keys.end()) keys.push_back(key(x));
  }
  auto findCheck = [&](const json& arr, const std::string& k) -> const json* {
    for (const json& x : arr) {
      if (key(x) == k) return &x;
    }
    return nullptr;
  };
  for (const std::string& k : keys) {
    const json* ca = findCheck(a["checks"], k);
    const json* cb = findCheck(b["checks"], k);
    const json& any = ca ? *ca : *cb;
    CompareRow r;
    r.section = "check";
    r.name = stringAt(any, "name");
    r.stage = stringAt(any, "stage");
    r.unit = stringAt(any, "unit");
    if (ca) {
      r.a = numberAt(*ca, {"observed"});
      r.outcome_a = stringAt(*ca, "outcome");
    }
    if (cb) {
      r.b = numberAt(*cb, {"observed"});
      r.outcome_b = stringAt(*cb, "outcome");
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
  auto cell = [](std::string s) {
    std::string out;
    for (char ch : s) {
      if (ch == '|') out += "\\|";
      else if (ch == '\n') out += ' ';
      else out += ch;
    }
    return out;
  };
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
      o << "| " << cell(r.stage) << " | " << cell(r.name) << " | " << cell(cellA(r)) << " | " << cell(cellB(r)) << " | " << cell(formatDelta(r))
        << " |\n";
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
    json row = {{"section", r.section}, {"stage", r.stage}, {"name", r.name}, {"unit", r.unit}, {"a", opt(r.a)},
                {"b", opt(r.b)}, {"delta", opt(r.delta)}, {"percent", opt(r.percent)}};
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
