// Structure of report.html on a synthetic run: charts exist with the right number of points,
// stage bands sit where the stages were, failed checks come first, text from the plan is escaped,
// and missing or odd input degrades to a page that says so.

#include "memstrain/report/html.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <regex>
#include <string>

#include "memstrain/report/chart_scale.hpp"
#include "memstrain/report/run_series.hpp"
#include "memstrain/report/svg_chart.hpp"

namespace memstrain {
namespace {

using nlohmann::json;

constexpr const char* kEvil = "<script>alert(1)</script>";

json sampleReport() {
  json r = {
      {"schema_version", 1},
      {"tool", {{"name", "memstrain"}, {"version", "0.1.0"}}},
      {"plan", {{"name", "demo"}, {"path", "plans/demo.json"}, {"source", {{"description", "ramp & hold"}}}}},
      {"run",
       {{"id", "run-1"}, {"status", "completed"}, {"duration_s", 60.5}, {"started_at", "2026-11-27T05:41:26.291Z"}, {"error", nullptr}}},
      {"host", {{"hostname", "vm"}, {"kernel", "6.1"}}},
      {"cgroup",
       {{"version", "v1"},
        {"measured", "/memstrain/run-1/target"},
        {"effective_limit_bytes", 536870912},
        {"safety_margin_bytes", 16777216},
        {"placement", "inside"}}},
      {"target",
       {{"mode", "launch"},
        {"pid", 42},
        {"command", {"demo-target", "-addr", "127.0.0.1:6060"}},
        {"env", {{"GODEBUG", "madvdontneed=1"}, {"GOGC", "50"}, {"PATH", "/bin"}}},
        {"memory_limit_bytes", 536870912},
        {"exit", nullptr}}},
      {"stages", json::array()},
      {"events",
       {{{"t_s", 45.0}, {"kind", "stressor_oom_kill"}, {"stage", "hold"}, {"detail", "stressor pid 7 killed"}},
        {{"t_s", 40.0}, {"kind", "action"}, {"stage", "hold"}, {"detail", "POST http://127.0.0.1:6060/grow?mib=24 -> 200"}}}},
      {"checks",
       {{{"name", "p99 ok"},
         {"metric", "latency.p99"},
         {"unit", "ns"},
         {"stage", "hold"},
         {"outcome", "pass"},
         {"observed", 4.4e6},
         {"limit", {{"max", 2.5e8}, {"min", nullptr}, {"max_vs_baseline", nullptr}}},
         {"baseline", nullptr},
         {"explanation", "fine"}},
        {{"name", "usage low"},
         {"metric", "cgroup.usage.max"},
         {"unit", "bytes"},
         {"stage", "hold"},
         {"outcome", "fail"},
         {"observed", 430e6},
         {"limit", {{"max", 104857600}, {"min", nullptr}, {"max_vs_baseline", nullptr}}},
         {"baseline", nullptr},
         {"explanation", "too high"}}}},
      {"checks_summary", {{"total", 2}, {"passed", 1}, {"failed", 1}}},
      {"verdict", "fail"},
      {"verdict_reasons", {"check usage low failed in stage hold"}},
      {"cleanup", {{"status", "ok"}, {"errors", json::array()}}},
      {"pprof",
       {{"diff",
         {{"base_stage", "baseline"},
          {"stage", "hold"},
          {"inuse_objects", {{"rows", {{{"function", "main.grow"}, {"flat", 229885}, {"cum", 229885}}}}}},
          {"inuse_space", {{"rows", json::array()}}}}}}},
  };
  for (auto [name, a, b] : {std::tuple{"baseline", 0.0, 10.0}, std::tuple{"ramp", 10.0, 30.0}, std::tuple{"hold", 30.0, 60.0}}) {
    r["stages"].push_back({{"name", name}, {"start_s", a}, {"end_s", b}, {"completed", true}, {"release", nullptr}});
  }
  return r;
}

// 240 cgroup samples (4 a second), 60 MemStats readings and 60 latency windows over 60 s.
std::string sampleLines(std::size_t cgroup_points = 240, const std::string& probe = "work") {
  std::string out;
  for (std::size_t i = 0; i < cgroup_points; ++i) {
    const double t = 60.0 * static_cast<double>(i) / static_cast<double>(cgroup_points);
    json j = {{"kind", "cgroup"},
              {"t", t},
              {"measured_usage_bytes", 40e6 + t * 6e6},
              {"effective_limit_bytes", 536870912},
              {"stressor", {{"populated_bytes", t * 5e6}}},
              {"target_process", {{"rss_bytes", 42e6}, {"lazyfree_bytes", 0}}}};
    if (i % 2 == 0) j["target_cgroup"] = {{"usage_bytes", 40e6}, {"file_bytes", 128e6 - t * 1e6}};  // every other sample
    if (t >= 10) j["setpoint_bytes"] = 429e6;
    out += j.dump() + "\n";
  }
  for (int i = 0; i < 60; ++i) {
    out += json{{"kind", "memstats"},
                {"t", i + 0.03},
                {"heap_objects", 30000 + i * 1000},
                {"heap_inuse_bytes", 35e6},
                {"heap_released_bytes", 2e6},
                {"num_gc", 4 + i / 10},
                {"gc_cpu_fraction", 0.1},
                {"last_gc_unix_ns", (1010 + i) * 1'000'000'000LL}}
               .dump() +
           "\n";  // 10% since a start at 1000 s
    out += json{{"kind", "latency"},         {"t", i + 0.98}, {"probe", probe},   {"completed", 50},
                {"errors", i == 30 ? 5 : 0}, {"p50_ms", 1.2}, {"p99_ms", 4.0 + i}}
               .dump() +
           "\n";
  }
  return out;
}

std::string attr(const std::string& html, const std::string& series_key, const char* name) {
  const std::regex re("data-series=\"" + series_key + "\" data-points=\"([0-9]+)\"");
  std::smatch m;
  if (std::string(name) == "points" && std::regex_search(html, m, re)) return m[1];
  return "";
}

TEST(RunSeries, ParsesEachKindAndCountsBadLines) {
  const std::string text =
      sampleLines() + "not json\n{\"kind\":\"cgroup\"}\n{\"kind\":\"future\",\"t\":1}\n{\"kind\":\"pprof_error\"}\n{\"kind\":\"cgr";
  const RunSeries s = parseSamples(text);
  EXPECT_EQ(s.cgroup.size(), 240U);
  EXPECT_EQ(s.memstats.size(), 60U);
  ASSERT_EQ(s.probes, std::vector<std::string>{"work"});
  EXPECT_EQ(s.latency[0].size(), 60U);
  EXPECT_EQ(s.pprof_errors, 1U);
  EXPECT_EQ(s.bad_lines, 3U);  // not JSON, cgroup without fields, the cut last line
  EXPECT_DOUBLE_EQ(s.latency[0][30].errorRate(), 0.1);
  EXPECT_EQ(s.cgroup[0].setpoint_bytes, std::nullopt);
  EXPECT_DOUBLE_EQ(*s.cgroup[239].setpoint_bytes, 429e6);
}

TEST(HtmlReport, EveryChartIsThereWithItsPoints) {
  const RunSeries s = parseSamples(sampleLines());
  const std::string html = renderHtmlReport(sampleReport(), &s);
  for (const char* id : {"chart-cgroup", "chart-latency", "chart-heap", "chart-rss", "chart-gc"}) {
    EXPECT_NE(html.find(std::string("<figure class=\"chart-fig\" id=\"") + id + "\""), std::string::npos) << id;
  }
  for (const char* id : {"svg-cgroup", "svg-latency", "svg-heap", "svg-rss", "svg-gc"}) {
    EXPECT_NE(html.find(std::string("<svg id=\"") + id + "\""), std::string::npos) << id;
  }
  EXPECT_EQ(attr(html, "usage", "points"), "240");
  EXPECT_EQ(attr(html, "stressor", "points"), "240");
  EXPECT_EQ(attr(html, "setpoint", "points"), "200");    // from t = 10 s on
  EXPECT_EQ(attr(html, "page-cache", "points"), "120");  // the samples that have the target cgroup's file bytes
  EXPECT_EQ(attr(html, "p99-0", "points"), "60");
  EXPECT_EQ(attr(html, "p50-0", "points"), "60");
  EXPECT_EQ(attr(html, "errors", "points"), "60");
  EXPECT_EQ(attr(html, "heap-objects", "points"), "60");
  EXPECT_EQ(attr(html, "heap-inuse", "points"), "60");
  EXPECT_EQ(attr(html, "rss", "points"), "240");
  EXPECT_EQ(attr(html, "gc", "points"), "59");  // rates between consecutive readings
  // The effective limit is a rule on the cgroup chart; the tables are all there.
  EXPECT_NE(html.find("data-rule=\"limit 512.0 MiB\""), std::string::npos);
  for (const char* id : {"id=\"checks\"", "id=\"stages\"", "id=\"heap-growth\"", "id=\"release\"", "id=\"events\"", "id=\"verdict\""}) {
    EXPECT_NE(html.find(id), std::string::npos) << id;
  }
  EXPECT_NE(html.find("<code>main.grow</code>"), std::string::npos);
  EXPECT_NE(html.find("GODEBUG=madvdontneed=1 GOGC=50"), std::string::npos);
  EXPECT_EQ(html.find("PATH=/bin"), std::string::npos);
  // Self-contained: nothing is loaded from anywhere.
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
}

TEST(HtmlReport, GcCpuSeriesWhenTheReportHasTheTargetsStart) {
  const RunSeries s = parseSamples(sampleLines());
  ASSERT_EQ(s.memstats.size(), 60U);
  EXPECT_EQ(s.memstats[5].last_gc_unix_ns, 1015'000'000'000ULL);
  EXPECT_DOUBLE_EQ(s.memstats[5].gc_cpu_fraction, 0.1);
  const std::string without = renderHtmlReport(sampleReport(), &s);
  EXPECT_EQ(attr(without, "gc-cpu", "points"), "") << "no start time, no GC CPU series";
  EXPECT_NE(without.find("GC from MemStats.NumGC;"), std::string::npos);
  json r = sampleReport();
  r["target"]["started_unix_ms"] = 1'000'000;
  const std::string with = renderHtmlReport(r, &s);
  EXPECT_EQ(attr(with, "gc-cpu", "points"), "59");
  EXPECT_NE(with.find("GC from MemStats.NumGC and GCCPUFraction"), std::string::npos);
  EXPECT_NE(with.find("GC share of GOMAXPROCS x time (right axis)"), std::string::npos);
  // The read-out data carries the share itself: 10% in every interval, on the percent axis.
  const auto series = with.find("\"kind\":\"percent\",\"name\":\"GC CPU\"");
  ASSERT_NE(series, std::string::npos) << "a read-out series named GC CPU in percent";
  const auto values = with.find("\"v\":[10.0,10.0,10.0", series);
  EXPECT_NE(values, std::string::npos);
  const auto next_series = with.find("\"name\":", with.find("\"name\":", series) + 1);
  EXPECT_LT(values, next_series) << "the values belong to the GC CPU series";
}

TEST(HtmlReport, LongSeriesAreDownsampledToTheBound) {
  const RunSeries s = parseSamples(sampleLines(5000));
  HtmlReportOptions opt;
  opt.max_points_per_series = 300;
  const std::string html = renderHtmlReport(sampleReport(), &s, opt);
  std::vector<double> usage;
  for (const auto& p : s.cgroup) usage.push_back(p.usage_bytes);
  const std::size_t expect = downsampleIndices(usage, 300).size();
  EXPECT_LE(expect, 300U);
  EXPECT_EQ(attr(html, "usage", "points"), std::to_string(expect));
  EXPECT_EQ(attr(html, "stressor", "points"), std::to_string(expect));  // stacked on the same times
}

TEST(HtmlReport, StageBandsMatchStageTimes) {
  const RunSeries s = parseSamples(sampleLines());
  const std::string html = renderHtmlReport(sampleReport(), &s);
  // The x axis runs from 0 to the last stage's end (60 s) across [kLeft, kRight].
  const LinearScale x{0, 60, ChartGeometry::kLeft, ChartGeometry::kRight};
  const std::regex band(
      "<rect class=\"stage-band [a-z]+\" data-stage=\"([a-z]+)\" data-t0=\"([0-9.]+)\" data-t1=\"([0-9.]+)\" x=\"([0-9.]+)\" "
      "y=\"[0-9.]+\" width=\"([0-9.]+)\"");
  std::map<std::string, int> seen;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), band); it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    const double t0 = std::stod(m[2]), t1 = std::stod(m[3]);
    EXPECT_NEAR(std::stod(m[4]), x(t0), 0.06) << m[1];
    EXPECT_NEAR(std::stod(m[5]), x(t1) - x(t0), 0.11) << m[1];
    ++seen[m[1]];
  }
  // Every stage is a band on each of the five charts.
  EXPECT_EQ(seen, (std::map<std::string, int>{{"baseline", 5}, {"ramp", 5}, {"hold", 5}}));
  EXPECT_NE(html.find("data-stage=\"ramp\" data-t0=\"10\" data-t1=\"30\" x=\"204.0\""), std::string::npos);
  // The OOM kill is a major marker, the action a minor one.
  EXPECT_NE(html.find("class=\"marker major\" data-t=\"45\""), std::string::npos);
  EXPECT_NE(html.find("class=\"marker minor\" data-t=\"40\""), std::string::npos);
}

TEST(HtmlReport, FailedChecksComeFirst) {
  const std::string html = renderHtmlReport(sampleReport(), nullptr);
  const auto fail = html.find("<tr class=\"outcome-fail\">");
  const auto pass = html.find("<tr class=\"outcome-pass\">");
  ASSERT_NE(fail, std::string::npos);
  ASSERT_NE(pass, std::string::npos);
  EXPECT_LT(fail, pass);
  EXPECT_NE(html.find("≤ 100.0 MiB"), std::string::npos);
  EXPECT_NE(html.find("class=\"verdict fail\""), std::string::npos);
}

TEST(HtmlReport, WordMetricChecksShowTheWordAndTheExpectedWord) {
  json r = sampleReport();
  r["checks"].push_back({{"name", "released memory returned"},
                         {"metric", "release.outcome"},
                         {"unit", "text"},
                         {"stage", "release"},
                         {"outcome", "fail"},
                         {"observed", nullptr},
                         {"observed_text", "lazy<x>"},
                         {"limit", {{"max", nullptr}, {"min", nullptr}, {"max_vs_baseline", nullptr}, {"equals", "returned"}}},
                         {"baseline", nullptr},
                         {"explanation", "release.outcome lazy != returned"}});
  const std::string html = renderHtmlReport(r, nullptr);
  EXPECT_NE(html.find("<td class=\"num\">lazy&lt;x&gt;</td><td>= returned</td>"), std::string::npos);
}

TEST(HtmlReport, UntrustedTextIsEscapedEverywhere) {
  json r = sampleReport();
  r["plan"]["name"] = kEvil;
  r["plan"]["source"]["description"] = "\"><img src=x onerror=alert(2)>";
  r["stages"][1]["name"] = "<b>ramp</b>";
  r["events"][0]["detail"] = std::string("</script><script>alert(3)</script>");
  r["pprof"]["diff"]["inuse_objects"]["rows"][0]["function"] = "main.(*T).<lambda>&x";
  r["checks"][0]["name"] = "<i>p99</i>";
  r["target"]["command"] = {"/bin/x", "--url=http://a/?q=<x>&y=\"1\""};
  r["run"]["status"] = "<blink>weird</blink>";
  // Two probes, so that probe names appear in the legend and the read-out data.
  const RunSeries s = parseSamples(sampleLines(240, "\"><svg onload=alert(4)>") +
                                   json{{"kind", "latency"}, {"t", 1.0}, {"probe", "b"}, {"completed", 1}, {"p99_ms", 1.0}}.dump());
  const std::string html = renderHtmlReport(r, &s);
  EXPECT_EQ(html.find(kEvil), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<b>ramp"), std::string::npos);
  EXPECT_EQ(html.find("<i>p99"), std::string::npos);
  EXPECT_EQ(html.find("<blink>"), std::string::npos);
  EXPECT_EQ(html.find("<svg onload"), std::string::npos);
  EXPECT_EQ(html.find("<lambda>"), std::string::npos);
  EXPECT_EQ(html.find("alert(3)</script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("main.(*T).&lt;lambda&gt;&amp;x"), std::string::npos);
  EXPECT_NE(html.find("&lt;blink&gt;weird&lt;/blink&gt;"), std::string::npos);
  // The probe name inside the read-out data cannot close its <script> element.
  EXPECT_NE(html.find("\\u003csvg onload=alert(4)\\u003e"), std::string::npos);
  // Every <script> opened is closed by our own tag: 2 page scripts + one data block per chart.
  std::size_t opens = 0, closes = 0;
  for (auto p = html.find("<script"); p != std::string::npos; p = html.find("<script", p + 1)) ++opens;
  for (auto p = html.find("</script>"); p != std::string::npos; p = html.find("</script>", p + 1)) ++closes;
  EXPECT_EQ(opens, 2U + 5U);
  EXPECT_EQ(closes, opens);
}

TEST(HtmlReport, MissingSamplesAreSaidAndTablesRemain) {
  std::string warning;
  const std::string html = renderHtmlReportWithSamples(sampleReport(), "/nonexistent/dir/samples.jsonl", &warning);
  EXPECT_NE(warning.find("/nonexistent/dir/samples.jsonl"), std::string::npos) << warning;
  EXPECT_NE(html.find("class=\"no-data missing-samples\""), std::string::npos);
  EXPECT_NE(html.find("samples.jsonl, which memstrain run writes beside report.json"), std::string::npos);
  EXPECT_EQ(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("id=\"checks\""), std::string::npos);
  EXPECT_NE(html.find("id=\"stages\""), std::string::npos);
  EXPECT_EQ(samplesPathFor("out/demo/report.json"), "out/demo/samples.jsonl");
  EXPECT_EQ(samplesPathFor("report.json"), "samples.jsonl");
}

TEST(HtmlReport, ChartsWithoutDataSayWhy) {
  // cgroup samples only: no probe, no pprof.
  std::string lines;
  for (int i = 0; i < 10; ++i) lines += json{{"kind", "cgroup"}, {"t", i}, {"measured_usage_bytes", 1e6}}.dump() + "\n";
  const RunSeries s = parseSamples(lines);
  const std::string html = renderHtmlReport(sampleReport(), &s);
  EXPECT_NE(html.find("<svg id=\"svg-cgroup\""), std::string::npos);
  EXPECT_EQ(html.find("<svg id=\"svg-latency\""), std::string::npos);
  EXPECT_NE(html.find("No latency probes in this plan"), std::string::npos);
  EXPECT_NE(html.find("No Go MemStats"), std::string::npos);
  EXPECT_NE(html.find("PSI not available"), std::string::npos);
}

TEST(HtmlReport, ReleaseOutcomesAreShownWhenPresent) {
  json r = sampleReport();
  EXPECT_NE(renderHtmlReport(r, nullptr).find("verified no release"), std::string::npos);
  r["stages"][2]["release"] = {{"outcome", "lazy"},
                               {"runtime_released_bytes", 187695104},
                               {"rss_dropped_bytes", 12582912},
                               {"cgroup_dropped_bytes", 0},
                               {"returned_ratio", 0.067},
                               {"time_to_return_s", nullptr},
                               {"lazy_bytes", 174063616},
                               {"expect", {{"returned_ratio", 0.8}, {"within_s", 10}}},
                               {"explanation", "179 MiB released by the Go runtime, 166 MiB still resident as LazyFree <MADV_FREE>"},
                               {"runtime", {{"heap_inuse_before_bytes", 200 * 1048576}, {"heap_inuse_after_bytes", 20 * 1048576}}},
                               {"os", {{"cgroup_before_bytes", 220 * 1048576}, {"cgroup_after_bytes", 219 * 1048576}}},
                               {"reclaim", {{"ran", true}, {"explanation", "reclaim took back 162 MiB"}, {"target_oom_killed", false}}}};
  r["stressor_release"] = {{"baseline_usage_bytes", 30 * 1048576},
                           {"after_usage_bytes", 31 * 1048576},
                           {"leaked_bytes", 1048576},
                           {"tolerance_bytes", 8 * 1048576},
                           {"ok", true}};
  const std::string html = renderHtmlReport(r, nullptr);
  EXPECT_NE(html.find("pill release-lazy"), std::string::npos);
  EXPECT_NE(html.find("166 MiB still resident as LazyFree &lt;MADV_FREE&gt;"), std::string::npos);
  EXPECT_NE(html.find("179.0 MiB"), std::string::npos);                      // runtime_released_bytes
  EXPECT_NE(html.find("7% of it (needed 80%)"), std::string::npos) << html;  // returned_ratio
  EXPECT_NE(html.find("reclaim took back 162 MiB"), std::string::npos);
  // A before/after table with plain labels, not the raw keys.
  EXPECT_NE(html.find("<table class=\"before-after\">"), std::string::npos);
  EXPECT_NE(html.find("<th scope=\"row\">heap in use<small>HeapInuse</small></th><td class=\"num\">200.0 MiB</td>"), std::string::npos)
      << html;
  EXPECT_NE(html.find("<th scope=\"row\">cgroup usage</th><td class=\"num\">220.0 MiB</td><td class=\"num\">219.0 MiB</td>"),
            std::string::npos);
  EXPECT_EQ(html.find("cgroup_after_bytes"), std::string::npos);
  EXPECT_EQ(html.find("heap_inuse_before_bytes"), std::string::npos);
  EXPECT_NE(html.find("the stressor's own release <span class=\"pill release-returned\">returned"), std::string::npos);
  EXPECT_NE(html.find("<dt>left behind</dt><dd>1.0 MiB (tolerance 8.0 MiB)"), std::string::npos);
  EXPECT_EQ(html.find("verified no release"), std::string::npos);
}

TEST(HtmlReport, PageCacheTableWhenTheReportHasIt) {
  json r = sampleReport();
  EXPECT_EQ(renderHtmlReport(r, nullptr).find("Page cache of the target"), std::string::npos);
  r["stages"][0]["page_cache"] = {{"file_bytes", {{"min", 134217728.0}, {"mean", 134217728.0}, {"max", 134217728.0}, {"n", 40}}},
                                  {"major_faults", 0},
                                  {"major_faults_per_s", 0.0},
                                  {"refaults", 0},
                                  {"refaults_per_s", 0.0}};
  r["stages"][2]["page_cache"] = {{"file_bytes", {{"min", 48250880.0}, {"mean", 49e6}, {"max", 49410048.0}, {"n", 80}}},
                                  {"major_faults", 80040},
                                  {"major_faults_per_s", 4052.647},
                                  {"refaults", nullptr},
                                  {"refaults_per_s", nullptr}};
  r["stages"][2]["name"] = "<hold>";
  const std::string html = renderHtmlReport(r, nullptr);
  EXPECT_NE(html.find("<h3>Page cache of the target's cgroup</h3>"), std::string::npos) << html;
  EXPECT_NE(html.find("<tr><th scope=\"row\">baseline</th><td class=\"num\">128.0 MiB</td><td class=\"num\">128.0 MiB</td>"
                      "<td class=\"num\">0.0</td><td class=\"num\">0.0</td></tr>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<tr><th scope=\"row\">&lt;hold&gt;</th><td class=\"num\">46.0 MiB</td><td class=\"num\">47.1 MiB</td>"
                      "<td class=\"num\">4052.6</td><td class=\"num\">–</td></tr>"),
            std::string::npos)
      << html;
  const auto table = html.find("<table class=\"page-cache\">");
  ASSERT_NE(table, std::string::npos);
  const std::string page_cache = html.substr(table, html.find("</table>", table) - table);
  EXPECT_EQ(page_cache.find(">ramp<"), std::string::npos) << "a stage without page_cache has no row";
}

TEST(HtmlReport, OddInputNeverThrows) {
  const RunSeries s = parseSamples(sampleLines());
  for (const json& j : {json(nullptr), json::array({1, 2}), json{{"stages", "x"}, {"checks", 3}, {"events", {{{"t_s", "soon"}}}}},
                        json{{"run", {{"status", "aborted"}}}, {"verdict", 7}, {"stressor_release", "n/a"}}}) {
    std::string html;
    EXPECT_NO_THROW(html = renderHtmlReport(j, &s)) << j.dump();
    EXPECT_NE(html.find("</html>"), std::string::npos);
  }
  json r = sampleReport();
  r["run"]["status"] = "aborted";
  r["events"].push_back({{"t_s", 50.0}, {"kind", "aborted"}, {"stage", "hold"}, {"detail", "abort rule p99 > 1s"}});
  const std::string html = renderHtmlReport(r, &s);
  EXPECT_NE(html.find("<span id=\"run-status\" class=\"pill warn\">aborted</span>"), std::string::npos);
  EXPECT_NE(html.find(">abort</text>"), std::string::npos);
}

}  // namespace
}  // namespace memstrain
