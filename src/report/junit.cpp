#include "memstrain/report/junit.hpp"

#include <cstdio>
#include <sstream>

namespace memstrain {

namespace {

std::string limitText(const CheckResult& r) {
  std::string s;
  auto add = [&](const std::string& part) { s += (s.empty() ? "" : ", ") + part; };
  if (r.max) add("max " + formatMetricValue(r.unit, *r.max));
  if (r.min) add("min " + formatMetricValue(r.unit, *r.min));
  if (!r.equals.empty()) add("equals " + r.equals);
  if (!r.relative_text.empty()) {
    add(r.relative_text + " of baseline" + (r.relative_max ? " = " + formatMetricValue(r.unit, *r.relative_max) : std::string()));
  }
  return s.empty() ? "-" : s;
}

}  // namespace

std::string renderJunitXml(const RunRecord& rec, const RunAnalysis& analysis) {
  std::size_t failures = 0, skipped = 0;
  for (const auto& c : analysis.checks) {
    failures += c.outcome == CheckOutcome::kFail;
    skipped += c.outcome == CheckOutcome::kNoData;
  }
  const bool run_error = rec.status != RunStatus::kCompleted;
  const std::size_t tests = analysis.checks.size() + (run_error ? 1 : 0);
  const std::size_t errors = run_error ? 1 : 0;
  char time_s[32];
  std::snprintf(time_s, sizeof time_s, "%.3f", static_cast<double>(rec.ended_wall_ms - rec.started_wall_ms) / 1000.0);
  const std::string plan = xmlEscape(rec.plan.name);
  std::ostringstream o;
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o << "<testsuites name=\"memstrain\" tests=\"" << tests << "\" failures=\"" << failures << "\" errors=\"" << errors << "\" skipped=\""
    << skipped << "\" time=\"" << time_s << "\">\n";
  o << "  <testsuite name=\"" << plan << "\" tests=\"" << tests << "\" failures=\"" << failures << "\" errors=\"" << errors
    << "\" skipped=\"" << skipped << "\" time=\"" << time_s << "\">\n";
  if (run_error) {
    o << "    <testcase name=\"run\" classname=\"" << plan << "\" time=\"" << time_s << "\">\n";
    o << "      <error message=\"" << xmlEscape(std::string("run ") + toString(rec.status) + (rec.error.empty() ? "" : ": " + rec.error))
      << "\"/>\n";
    o << "    </testcase>\n";
  }
  for (const auto& c : analysis.checks) {
    double stage_s = 0;
    for (const auto& s : analysis.stages) {
      if (s.name == c.stage) stage_s = s.end_s - s.start_s;
    }
    char st[32];
    std::snprintf(st, sizeof st, "%.3f", stage_s);
    o << "    <testcase name=\"" << xmlEscape(c.check) << "\" classname=\"" << plan << "." << xmlEscape(c.stage) << "\" time=\"" << st
      << "\"";
    if (c.outcome == CheckOutcome::kPass) {
      o << "/>\n";
      continue;
    }
    o << ">\n";
    if (c.outcome == CheckOutcome::kFail) {
      std::string text = "metric: " + c.metric + (c.probe.empty() ? "" : " (probe " + c.probe + ")") + "\nobserved: " +
                         (!c.observed_text.empty() ? c.observed_text
                          : c.observed             ? formatMetricValue(c.unit, *c.observed)
                                                   : std::string("no data")) +
                         "\nlimit: " + limitText(c) +
                         "\nbaseline: " + (c.baseline ? formatMetricValue(c.unit, *c.baseline) : std::string("-")) + "\n";
      if (!c.description.empty()) text += "description: " + c.description + "\n";
      o << "      <failure message=\"" << xmlEscape(c.explanation) << "\" type=\"" << xmlEscape(c.metric) << "\">" << xmlEscape(text)
        << "</failure>\n";
    } else {
      o << "      <skipped message=\"" << xmlEscape(c.explanation) << "\"/>\n";
    }
    o << "    </testcase>\n";
  }
  o << "  </testsuite>\n</testsuites>\n";
  return o.str();
}

}  // namespace memstrain
