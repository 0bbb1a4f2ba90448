// metrics.prom: the Prometheus text format built from report.json — exact lines for a small
// report, escaping, units, left-out nulls, and a line-by-line check of the format itself.

#include "memstrain/report/prometheus.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "support/promtool.hpp"

namespace memstrain {
namespace {

using nlohmann::json;

json smallReport() {
  return json::parse(R"({
    "plan": {"name": "pc \"demo\"\\x\ny"},
    "tool": {"name": "memstrain", "version": "0.1.0", "commit": "0123456789abcdef0123456789abcdef01234567", "commit_dirty": false,
             "build_type": "RelWithDebInfo", "compiler": "GNU 12.2.0"},
    "verdict": "fail",
    "run": {"id": "run-1", "status": "completed", "duration_s": 45.5},
    "cleanup": {"status": "ok"},
    "cgroup": {"version": "v1"},
    "checks": [
      {"name": "p50 vs baseline", "stage": "hold", "probe": "read", "unit": "ns", "observed": 12500000.0, "outcome": "fail"},
      {"name": "no OOM", "stage": "hold", "probe": null, "unit": "count", "observed": 0.0, "outcome": "pass"},
      {"name": "gc", "stage": "hold", "probe": null, "unit": "count", "observed": null, "outcome": "no_data"},
      {"name": "released", "stage": "release", "probe": null, "unit": "text", "observed": null, "outcome": "pass"}
    ],
    "stages": [
      {"name": "baseline", "usage_bytes": {"min": 1, "mean": 2, "max": 3, "n": 4}, "oom_kills": {"target": 0, "stressor": 0},
       "latency": [{"probe": "read", "error_rate": 0.0,
                    "corrected": {"count": 10, "mean_ms": 1.5, "p50_ms": 1.25, "p90_ms": 2, "p99_ms": 3.5, "p999_ms": 4, "max_ms": 5}}],
       "page_cache": {"file_bytes": {"min": 134217728, "mean": 1, "max": 1, "n": 2}, "major_faults_per_s": 0, "refaults_per_s": null},
       "heap": {"samples": 3, "objects_delta": -120, "gc_cycles": 204, "gc_cpu_fraction": 0.25},
       "release": null},
      {"name": "quiet", "usage_bytes": {"min": 0, "mean": 0, "max": 0, "n": 0}, "oom_kills": {"target": 1, "stressor": 2},
       "latency": [{"probe": "read", "error_rate": null, "corrected": {"count": 0, "p50_ms": 0}}],
       "page_cache": null, "release": {"returned_ratio": 0.98}}
    ]
  })");
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// One sample line: NAME{k="v",...} VALUE with escaped label values; returns "" when it is well
// formed, else what is wrong.
std::string sampleLineProblem(const std::string& l) {
  std::size_t i = 0;
  auto nameChar = [](char c, bool first) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' || (!first && std::isdigit(static_cast<unsigned char>(c)));
  };
  if (i >= l.size() || !nameChar(l[i], true)) return "bad metric name";
  while (i < l.size() && nameChar(l[i], false)) ++i;
  if (i >= l.size() || l[i] != '{') return "no labels";
  ++i;
  while (true) {
    const std::size_t k0 = i;
    while (i < l.size() && nameChar(l[i], i == k0)) ++i;
    if (i == k0 || i + 1 >= l.size() || l[i] != '=' || l[i + 1] != '"') return "bad label name at " + std::to_string(k0);
    i += 2;
    while (i < l.size() && l[i] != '"') {
      if (l[i] == '\\') {
        if (i + 1 >= l.size() || (l[i + 1] != '\\' && l[i + 1] != '"' && l[i + 1] != 'n')) return "bad escape";
        ++i;
      }
      ++i;
    }
    if (i >= l.size()) return "unterminated label value";
    ++i;
    if (i < l.size() && l[i] == ',') {
      ++i;
      continue;
    }
    break;
  }
  if (i + 1 >= l.size() || l[i] != '}' || l[i + 1] != ' ') return "no value";
  const std::string value = l.substr(i + 2);
  if (value == "NaN" || value == "+Inf" || value == "-Inf") return "";
  std::size_t used = 0;
  try {
    (void)std::stod(value, &used);
  } catch (...) {
    return "value not a number";
  }
  return used == value.size() ? "" : "trailing bytes after the value";
}

TEST(Prometheus, EveryLineIsHelpTypeOrAWellFormedSampleAndFamiliesAreDeclaredOnce) {
  const std::string text = renderPrometheusText(smallReport(), 1, 1795773600.5);
  std::set<std::string> help, type;
  std::string current;
  for (const auto& l : lines(text)) {
    if (l.rfind("# HELP ", 0) == 0) {
      current = l.substr(7, l.find(' ', 7) - 7);
      EXPECT_TRUE(help.insert(current).second) << "HELP twice for " << current;
      continue;
    }
    if (l.rfind("# TYPE ", 0) == 0) {
      const std::string kind = current == "memstrain_stage_latency_seconds" ? "summary" : "gauge";
      EXPECT_EQ(l, "# TYPE " + current + " " + kind);
      EXPECT_TRUE(type.insert(current).second);
      continue;
    }
    EXPECT_EQ(sampleLineProblem(l), "") << l;
    const bool in_family = l.rfind(current + "{", 0) == 0 || l.rfind(current + "_sum{", 0) == 0 || l.rfind(current + "_count{", 0) == 0;
    EXPECT_TRUE(in_family) << "a sample outside its family: " << l;
    // promlint: only a summary (or histogram) has a quantile label.
    if (l.find("quantile=") != std::string::npos) {
      EXPECT_EQ(current, "memstrain_stage_latency_seconds") << l;
    }
    EXPECT_EQ(l.find("run_id="), std::string::npos) << "a run id label makes a new series every run: " << l;
  }
  EXPECT_EQ(help, type);
  EXPECT_GE(help.size(), 12U);
  EXPECT_EQ(text.back(), '\n');
}

TEST(Prometheus, FiguresUnitsEscapingAndLeftOutNulls) {
  const std::string text = renderPrometheusText(smallReport(), 1, 1795773600.5);
  const std::string p = "plan=\"pc \\\"demo\\\"\\\\x\\ny\"";
  auto has = [&](const std::string& line) { return text.find(line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("memstrain_build_info{" + p +
                  ",version=\"0.1.0\",commit=\"0123456789abcdef0123456789abcdef01234567\",build_type=\"RelWithDebInfo\","
                  "compiler=\"GNU 12.2.0\"} 1"))
      << text;
  EXPECT_TRUE(has("memstrain_run_info{" + p + ",verdict=\"fail\",status=\"completed\",cleanup=\"ok\",cgroup_version=\"v1\"} 1")) << text;
  EXPECT_TRUE(has("memstrain_run_passed{" + p + "} 0")) << text;
  EXPECT_TRUE(has("memstrain_run_exit_code{" + p + "} 1")) << text;
  EXPECT_TRUE(has("memstrain_run_duration_seconds{" + p + "} 45.5")) << text;
  EXPECT_TRUE(has("memstrain_run_end_time_seconds{" + p + "} 1795773600.5")) << text;
  EXPECT_TRUE(has("memstrain_checks{" + p + ",outcome=\"fail\"} 1")) << text;
  EXPECT_TRUE(has("memstrain_checks{" + p + ",outcome=\"no_data\"} 1")) << text;
  EXPECT_TRUE(has("memstrain_checks{" + p + ",outcome=\"pass\"} 2")) << text;
  EXPECT_TRUE(has("memstrain_check_failed{" + p + ",check=\"p50 vs baseline\",stage=\"hold\",probe=\"read\"} 1")) << text;
  // One family per unit: seconds for durations (ns in report.json), no unit for counts.
  EXPECT_TRUE(has("memstrain_check_observed_seconds{" + p + ",check=\"p50 vs baseline\",stage=\"hold\",probe=\"read\"} 0.0125")) << text;
  EXPECT_TRUE(has("memstrain_check_observed{" + p + ",check=\"no OOM\",stage=\"hold\",probe=\"\"} 0")) << text;
  EXPECT_EQ(text.find("unit=\""), std::string::npos) << "no unit label: " << text;
  // A no-data check has no failed/observed sample; a text check has no observed sample.
  EXPECT_EQ(text.find("check=\"gc\""), std::string::npos) << text;
  EXPECT_TRUE(has("memstrain_check_failed{" + p + ",check=\"released\",stage=\"release\",probe=\"\"} 0")) << text;
  EXPECT_EQ(text.find("memstrain_check_observed{" + p + ",check=\"released\""), std::string::npos) << text;
  // Latency per stage is a summary: quantiles, _sum (mean x count) and _count; the max is a gauge.
  EXPECT_TRUE(has("memstrain_stage_latency_seconds{" + p + ",stage=\"baseline\",probe=\"read\",quantile=\"0.5\"} 0.00125")) << text;
  EXPECT_TRUE(has("memstrain_stage_latency_seconds{" + p + ",stage=\"baseline\",probe=\"read\",quantile=\"0.99\"} 0.0035")) << text;
  EXPECT_TRUE(has("memstrain_stage_latency_seconds_sum{" + p + ",stage=\"baseline\",probe=\"read\"} 0.015")) << text;
  EXPECT_TRUE(has("memstrain_stage_latency_seconds_count{" + p + ",stage=\"baseline\",probe=\"read\"} 10")) << text;
  EXPECT_TRUE(has("memstrain_stage_latency_max_seconds{" + p + ",stage=\"baseline\",probe=\"read\"} 0.005")) << text;
  EXPECT_EQ(text.find("quantile=\"1\""), std::string::npos) << text;
  EXPECT_TRUE(has("memstrain_stage_error_ratio{" + p + ",stage=\"baseline\",probe=\"read\"} 0")) << text;
  EXPECT_TRUE(has("memstrain_stage_usage_max_bytes{" + p + ",stage=\"baseline\"} 3")) << text;
  EXPECT_TRUE(has("memstrain_stage_oom_kills{" + p + ",stage=\"quiet\",who=\"stressor\"} 2")) << text;
  EXPECT_TRUE(has("memstrain_stage_page_cache_min_bytes{" + p + ",stage=\"baseline\"} 134217728")) << text;
  EXPECT_TRUE(has("memstrain_stage_major_faults_per_second{" + p + ",stage=\"baseline\"} 0")) << text;
  EXPECT_TRUE(has("memstrain_stage_release_returned_ratio{" + p + ",stage=\"quiet\"} 0.98")) << text;
  EXPECT_TRUE(has("memstrain_stage_gc_cycles{" + p + ",stage=\"baseline\"} 204")) << text;
  EXPECT_TRUE(has("memstrain_stage_gc_cpu_ratio{" + p + ",stage=\"baseline\"} 0.25")) << text;
  EXPECT_TRUE(has("memstrain_stage_heap_objects_delta{" + p + ",stage=\"baseline\"} -120")) << text;
  EXPECT_EQ(text.find("memstrain_stage_gc_cycles{" + p + ",stage=\"quiet\""), std::string::npos) << "no heap, no GC sample";
  // Nulls and empty series are left out, never written as 0: no latency for a stage without
  // requests, no usage without samples, no refault rate the kernel did not report.
  EXPECT_EQ(text.find("stage=\"quiet\",probe=\"read\",quantile"), std::string::npos) << text;
  EXPECT_EQ(text.find("memstrain_stage_error_ratio{" + p + ",stage=\"quiet\""), std::string::npos) << text;
  EXPECT_EQ(text.find("memstrain_stage_usage_max_bytes{" + p + ",stage=\"quiet\""), std::string::npos) << text;
  EXPECT_EQ(text.find("memstrain_stage_refaults_per_second"), std::string::npos) << text;
}

// The Prometheus project's linter on the file: no quantile on a gauge, one unit per family, base
// units, HELP on every family. CI installs promtool (make test); elsewhere the test says it skipped.
TEST(Prometheus, PromtoolChecksTheFileClean) {
  if (!promtoolAvailable()) GTEST_SKIP() << "promtool is not installed (Debian package prometheus; make test installs it)";
  EXPECT_EQ(promtoolProblems(renderPrometheusText(smallReport(), 1, 1795773600.5)), "");
  EXPECT_EQ(promtoolProblems(renderPrometheusText(json::object(), 3, 0)), "");
  // The linter does find what this file used to do: a gauge with a quantile label.
  EXPECT_NE(promtoolProblems("# HELP x_seconds x\n# TYPE x_seconds gauge\nx_seconds{quantile=\"0.5\"} 1\n"), "");
}

TEST(Prometheus, EmptyReportStillSaysTheRunAndFileNamesAreSafe) {
  const std::string text = renderPrometheusText(json::object(), 3, 0);
  EXPECT_NE(text.find("memstrain_run_exit_code{plan=\"\"} 3\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("memstrain_stage_"), std::string::npos) << text;
  EXPECT_EQ(prometheusFileName("demo"), "memstrain_demo.prom");
  EXPECT_EQ(prometheusFileName("../a b/é"), "memstrain____a_b___.prom");
}

}  // namespace
}  // namespace memstrain
