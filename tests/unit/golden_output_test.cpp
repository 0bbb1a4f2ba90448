// Every output rendered purely from a run's data, pinned byte for byte for two synthetic runs
// (tests/support/synthetic_run): samples.jsonl, report.json, the stdout summary and last line,
// summary.md, junit.xml, metrics.prom, report.html, the live progress lines, compare (text,
// Markdown, JSON) and the sweep outputs. A restructuring must leave them all as they are.
//
// The files are tests/data/golden/*.golden. After a deliberate change of an output, rewrite them
// and review the diff:
//   MEMSTRAIN_UPDATE_GOLDEN=1 build/memstrain_unit_tests --gtest_filter='GoldenOutput.*'

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "memstrain/analysis/stage_stats.hpp"
#include "memstrain/executor/progress.hpp"
#include "memstrain/report/compare.hpp"
#include "memstrain/report/html.hpp"
#include "memstrain/report/junit.hpp"
#include "memstrain/report/prometheus.hpp"
#include "memstrain/report/report.hpp"
#include "memstrain/report/summary_md.hpp"
#include "memstrain/sweep/sweep.hpp"
#include "memstrain/sweep/sweep_report.hpp"
#include "memstrain/util/build_info.hpp"
#include "memstrain/version.hpp"
#include "support/synthetic_run.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;
using testing::makeSyntheticRun;
using testing::SyntheticVariant;

const fs::path kGoldenDir = fs::path(MEMSTRAIN_SOURCE_DIR) / "tests/data/golden";

// `text` with every occurrence of `from` replaced by `to`.
std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) text.replace(at, from.size(), to);
  return text;
}

class GoldenOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("golden-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "a");
    fs::create_directories(dir_ / "b");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Compares `got` (with this machine's temp dir and the tool's version replaced by placeholders)
  // with the golden file `name`, or rewrites the file under MEMSTRAIN_UPDATE_GOLDEN.
  void expectGolden(const std::string& name, std::string got) {
    got = replaceAll(replaceAll(std::move(got), dir_.string(), "@DIR@"), std::string("\"") + kVersion + "\"", "\"@VERSION@\"");
    got = replaceAll(std::move(got), std::string("memstrain ") + kVersion + " ", "memstrain @VERSION@ ");
    // The build's provenance (report.json's tool, memstrain_build_info) differs per build.
    const BuildInfo& b = buildInfo();
    got = replaceAll(std::move(got), std::string("\"") + b.commit + "\"", "\"@COMMIT@\"");
    got = replaceAll(std::move(got), std::string("\"") + b.build_type + "\"", "\"@BUILD_TYPE@\"");
    got = replaceAll(std::move(got), std::string("\"") + b.compiler + "\"", "\"@COMPILER@\"");
    got = replaceAll(std::move(got), std::string("\"commit_dirty\": ") + (b.dirty ? "true" : "false"), "\"commit_dirty\": \"@DIRTY@\"");
    // The .golden suffix keeps tools that pick files by their ending (linters, duplicate finders)
    // off these rendered outputs.
    const fs::path path = kGoldenDir / (name + ".golden");
    if (std::getenv("MEMSTRAIN_UPDATE_GOLDEN")) {
      fs::create_directories(kGoldenDir);
      std::ofstream(path, std::ios::binary) << got;
      return;
    }
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in) << path << " is missing; write it with MEMSTRAIN_UPDATE_GOLDEN=1";
    std::stringstream want;
    want << in.rdbuf();
    if (want.str() == got) return;
    // Point at the first difference: a whole report.html in a failure message helps nobody.
    std::size_t at = 0;
    while (at < got.size() && at < want.str().size() && got[at] == want.str()[at]) ++at;
    const std::size_t from = at > 200 ? at - 200 : 0;
    ADD_FAILURE() << name << " differs from the golden file at byte " << at << " (sizes " << got.size() << " / " << want.str().size()
                  << ")\n--- want:\n"
                  << want.str().substr(from, 400) << "\n--- got:\n"
                  << got.substr(from, 400);
  }

  // Renders every per-run output of `variant` under `sub`, named with `prefix`; returns report.json.
  nlohmann::json renderRun(SyntheticVariant variant, const std::string& sub, const std::string& prefix) {
    const fs::path out = dir_ / sub;
    testing::SyntheticRun run = makeSyntheticRun(variant, out);
    const RunRecord& rec = run.record;
    std::string samples;
    for (const auto& l : run.sample_lines) samples += l + "\n";
    std::ofstream(out / "samples.jsonl") << samples;
    expectGolden(prefix + "samples.jsonl", samples);

    const RunAnalysis analysis = analyzeRun(rec);
    const int exit_code = exitCodeFor(rec, analysis.verdict);
    const nlohmann::json report = buildReportJson(rec, analysis, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    expectGolden(prefix + "report.json", report.dump(2) + "\n");
    expectGolden(prefix + "summary.txt",
                 renderSummary(rec, analysis) + machineLine(rec, analysis, exit_code, rec.out_dir + "/report.json") + "\n");
    expectGolden(prefix + "summary.md", renderSummaryMarkdown(rec, analysis, exit_code));
    expectGolden(prefix + "junit.xml", renderJunitXml(rec, analysis));
    expectGolden(prefix + "metrics.prom", renderPrometheusText(report, exit_code, 1'700'000'045.5));
    std::string warning;
    expectGolden(prefix + "report.html", renderHtmlReportWithSamples(report, (out / "samples.jsonl").string(), &warning));
    EXPECT_EQ(warning, "");

    // The live progress line after each sample, as the executor's sink would fold them.
    ProgressState progress;
    progress.target_start_unix_ns = rec.target_start_unix_ns;
    std::string lines;
    for (const auto& l : run.sample_lines) {
      const nlohmann::json j = nlohmann::json::parse(l);
      const double t = j.value("t", 0.0);
      const std::size_t stage = std::min<std::size_t>(static_cast<std::size_t>(t / 10), 3);
      progress.clock = {rec.plan.stages[stage].name, stage, 4, t - 10.0 * static_cast<double>(stage), 10, t, 40};
      applySampleToProgress(progress, j);
      lines += formatProgressLine(progress) + "\n";
    }
    expectGolden(prefix + "progress.txt", lines);
    return report;
  }

  fs::path dir_;
};

TEST_F(GoldenOutput, EveryOutputOfTwoRunsAndTheirComparison) {
  const nlohmann::json a = renderRun(SyntheticVariant::kCompleted, "a", "completed-");
  const nlohmann::json b = renderRun(SyntheticVariant::kAborted, "b", "aborted-");

  auto cmp = compareReports(a, b, "a/report.json", "b/report.json");
  ASSERT_TRUE(cmp) << cmp.error().message;
  expectGolden("compare.txt", renderCompareTable(*cmp));
  expectGolden("compare.md", renderCompareMarkdown(*cmp));
  expectGolden("compare.json", compareToJson(*cmp).dump(2) + "\n");

  // The sweep's figures of the two runs, as two settings of one sweep.
  auto figures = [&](const nlohmann::json& report, const std::string& sub) {
    SampleDigest digest;
    std::ifstream in(dir_ / sub / "samples.jsonl");
    for (std::string line; std::getline(in, line);) digest.addLine(line);
    SweepRunFigures f = runFigures(report, digest);
    f.dir = "sweep/" + sub;
    f.exit_code = sub == "a" ? 1 : 7;
    return f;
  };
  auto axes = parseSweepSets({"GOGC=50,100"});
  ASSERT_TRUE(axes) << axes.error().message;
  const std::vector<SweepSetting> settings = expandSweep(*axes);
  ASSERT_EQ(settings.size(), 2U);
  SweepDocument doc;
  doc.plan_path = "plans/golden.json";
  doc.plan_name = "golden";
  doc.memory_limit_bytes = 512ULL << 20;
  doc.stage_names = {"baseline", "ramp", "hold", "release"};
  doc.baseline_stage = "baseline";
  doc.axes = *axes;
  doc.settings.push_back(summarizeSetting(settings[0], {{"GOGC", "50"}}, {figures(a, "a")}));
  doc.settings.push_back(summarizeSetting(settings[1], {{"GOGC", "100"}}, {figures(b, "b")}));
  doc.recommendation = recommendSetting(doc.settings);
  expectGolden("sweep.json", sweepJson(doc).dump(2) + "\n");
  expectGolden("sweep.md", renderSweepMarkdown(doc));
  expectGolden("sweep.html", renderSweepHtml(doc));
}

}  // namespace
}  // namespace memstrain
