// junit.xml and summary.md: structure checked by a real XML parser (python3's xml.etree) and by
// the Markdown tables' rows.

#include "memstrain/report/junit.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "memstrain/report/summary_md.hpp"

namespace memstrain {
namespace {

constexpr double MiB = 1024.0 * 1024;

RunAnalysis analysisWithChecks(RunRecord& rec) {
  rec.plan.name = "demo<&>";
  rec.plan.baseline_stage = "baseline";
  StageStats base, hold;
  base.name = "baseline";
  base.usage = {10 * MiB, 20 * MiB, 30 * MiB, 4};
  hold.name = "hold";
  hold.start_s = 2;
  hold.end_s = 6;
  hold.usage = {10 * MiB, 200 * MiB, 400 * MiB, 4};
  CheckSpec usage;
  usage.name = "usage \"max\"";
  usage.metric = "cgroup.usage.max";
  usage.unit = MetricUnit::kBytes;
  usage.max = 300 * MiB;
  usage.description = "keeps < 300 MiB";
  CheckSpec rel = usage;
  rel.name = "usage vs baseline";
  rel.max.reset();
  rel.max_vs_baseline = RelativeLimit{2, 0, "2x"};
  CheckSpec oom;
  oom.name = "no OOM";
  oom.metric = "target.oom_kills";
  oom.max = 0;
  CheckSpec heap;
  heap.name = "gc";
  heap.metric = "heap.gc_cycles";
  heap.max = 10;
  heap.stages = {"hold"};
  RunAnalysis a;
  a.stages = {base, hold};
  a.checks = evaluateChecks({usage, rel, oom, heap}, a.stages, {"baseline", "hold"}, "baseline");
  a.verdict = judge(rec, a.stages, a.checks);
  return a;
}

TEST(Junit, OneTestcasePerCheckAndStageParsedByXmlEtree) {
  RunRecord rec;
  RunAnalysis a = analysisWithChecks(rec);
  ASSERT_EQ(a.checks.size(), 6U);  // usage x2, relative in hold only, oom x2, gc in hold
  const std::string xml = renderJunitXml(rec, a);
  const auto dir = std::filesystem::path(::testing::TempDir()) / ("junit-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "junit.xml") << xml;
  // The parser prints what it found; the test compares that with what the run judged.
  const std::string script =
      "import sys, xml.etree.ElementTree as ET\n"
      "root = ET.parse(sys.argv[1]).getroot()\n"
      "assert root.tag == 'testsuites', root.tag\n"
      "suites = root.findall('testsuite')\n"
      "assert len(suites) == 1\n"
      "s = suites[0]\n"
      "cases = s.findall('testcase')\n"
      "assert int(s.get('tests')) == len(cases), (s.get('tests'), len(cases))\n"
      "assert int(s.get('failures')) == sum(1 for c in cases if c.find('failure') is not None)\n"
      "assert int(root.get('failures')) == int(s.get('failures'))\n"
      "print(s.get('name'), s.get('tests'), s.get('failures'), s.get('skipped'))\n"
      "for c in cases:\n"
      "    f = c.find('failure'); k = c.find('skipped')\n"
      "    state = 'FAIL ' + f.get('message') + ' || ' + f.text.replace(chr(10), ';') if f is not None else ('SKIP' if k is not None else "
      "'PASS')\n"
      "    print(c.get('classname') + ' | ' + c.get('name') + ' | ' + state)\n";
  std::ofstream(dir / "check.py") << script;
  const std::string cmd =
      "python3 " + (dir / "check.py").string() + " " + (dir / "junit.xml").string() + " > " + (dir / "out.txt").string() + " 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(dir / "out.txt");
  std::stringstream got;
  got << in.rdbuf();
  ASSERT_EQ(rc, 0) << got.str() << "\n" << xml;
  EXPECT_EQ(got.str(),
            "demo<&> 6 2 1\n"
            "demo<&>.baseline | usage \"max\" | PASS\n"
            "demo<&>.hold | usage \"max\" | FAIL cgroup.usage.max 400.0 MiB > max 300.0 MiB || metric: cgroup.usage.max;observed: "
            "400.0 MiB;limit: max 300.0 MiB;baseline: -;description: keeps < 300 MiB;\n"
            "demo<&>.hold | usage vs baseline | FAIL cgroup.usage.max 400.0 MiB > 2x of baseline 30.0 MiB = 60.0 MiB || metric: "
            "cgroup.usage.max;observed: 400.0 MiB;limit: 2x of baseline = 60.0 MiB;baseline: 30.0 MiB;description: keeps < 300 MiB;\n"
            "demo<&>.baseline | no OOM | PASS\n"
            "demo<&>.hold | no OOM | PASS\n"
            "demo<&>.hold | gc | SKIP\n");
  std::filesystem::remove_all(dir);
}

TEST(Junit, InterruptedRunAddsAnErrorCase) {
  RunRecord rec;
  RunAnalysis a = analysisWithChecks(rec);
  rec.status = RunStatus::kInterrupted;
  rec.error = "SIGINT";
  const std::string xml = renderJunitXml(rec, a);
  EXPECT_NE(xml.find("<testsuites name=\"memstrain\" tests=\"7\" failures=\"2\" errors=\"1\" skipped=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<error message=\"run interrupted: SIGINT\"/>"), std::string::npos) << xml;
  EXPECT_EQ(xmlEscape("a<b>&\"c'\x01"), "a&lt;b&gt;&amp;&quot;c&apos;?");
}

// junit.xml against docs/junit.xsd with xmllint: a passing, a failing, an interrupted and an
// aborted run; and the schema does reject a testcase without a classname.
TEST(Junit, ValidatesAgainstTheXsd) {
  if (std::system("command -v xmllint > /dev/null 2>&1") != 0) GTEST_SKIP() << "xmllint missing (Debian libxml2-utils)";
  const std::string xsd = std::string(MEMSTRAIN_SOURCE_DIR) + "/docs/junit.xsd";
  const auto dir = std::filesystem::path(::testing::TempDir()) / ("junit-xsd-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto valid = [&](const std::string& xml, const std::string& name) {
    std::ofstream(dir / name) << xml;
    const std::string cmd =
        "xmllint --noout --schema " + xsd + " " + (dir / name).string() + " > " + (dir / (name + ".txt")).string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream in(dir / (name + ".txt"));
    std::stringstream got;
    got << in.rdbuf();
    return std::make_pair(rc == 0, got.str());
  };
  RunRecord rec;
  RunAnalysis a = analysisWithChecks(rec);
  auto [ok_fail, msg_fail] = valid(renderJunitXml(rec, a), "fail.xml");
  EXPECT_TRUE(ok_fail) << msg_fail;
  RunRecord intr = rec;
  intr.status = RunStatus::kInterrupted;
  intr.error = "SIGINT";
  auto [ok_intr, msg_intr] = valid(renderJunitXml(intr, a), "interrupted.xml");
  EXPECT_TRUE(ok_intr) << msg_intr;
  RunRecord aborted = rec;
  aborted.status = RunStatus::kAborted;
  aborted.error = "aborted by check \"errors\" in stage hold: latency.error_rate 40.00% > max 1.00%";
  auto [ok_ab, msg_ab] = valid(renderJunitXml(aborted, a), "aborted.xml");
  EXPECT_TRUE(ok_ab) << msg_ab;
  RunAnalysis none;
  auto [ok_empty, msg_empty] = valid(renderJunitXml(RunRecord{}, none), "empty.xml");
  EXPECT_TRUE(ok_empty) << msg_empty;
  std::string broken = renderJunitXml(rec, a);
  const auto at = broken.find(" classname=\"");
  ASSERT_NE(at, std::string::npos);
  broken.replace(at, 11, " classnom=\"");
  auto [ok_broken, msg_broken] = valid(broken, "broken.xml");
  EXPECT_FALSE(ok_broken) << "the XSD accepted a testcase without classname";
  std::filesystem::remove_all(dir);
}

TEST(SummaryMd, TablesWithFailuresFirst) {
  RunRecord rec;
  RunAnalysis a = analysisWithChecks(rec);
  const std::string md = renderSummaryMarkdown(rec, a, 1);
  EXPECT_NE(md.find("## memstrain: demo<&> — verdict **fail**"), std::string::npos) << md;
  EXPECT_NE(md.find("checks 1/4 passed"), std::string::npos) << md;
  EXPECT_NE(md.find("| hold | 4.0 | - | 400.0 | - | 0/0 | - | - | - | - |"), std::string::npos) << md;
  const auto fail_row = md.find("| ❌ fail | usage \"max\" | hold | 400.0 MiB | ≤ 300.0 MiB | - |");
  const auto pass_row = md.find("| ✅ pass |");
  const auto nodata_row = md.find("| ⚠️ no data | gc | hold |");
  ASSERT_NE(fail_row, std::string::npos) << md;
  ASSERT_NE(pass_row, std::string::npos);
  ASSERT_NE(nodata_row, std::string::npos);
  EXPECT_LT(fail_row, nodata_row);
  EXPECT_LT(nodata_row, pass_row);
  EXPECT_NE(md.find("| ❌ fail | usage vs baseline | hold | 400.0 MiB | ≤ 2x of baseline (60.0 MiB) | 30.0 MiB |"), std::string::npos) << md;
  EXPECT_EQ(md.find("### Page cache"), std::string::npos) << "no page-cache figures, no section";
  EXPECT_EQ(md.find("### Go runtime"), std::string::npos) << "no MemStats readings, no section";
}

TEST(SummaryMd, GoRuntimeTableWhenTheStagesHaveReadings) {
  RunRecord rec;
  RunAnalysis a = analysisWithChecks(rec);
  ASSERT_FALSE(a.stages.empty());
  StageHeapStats h;
  h.samples = 6;
  h.objects_end = 143360;
  h.objects_delta = 140000;
  h.objects_slope_per_s = 35000.4;
  h.gc_cycles = 204;
  h.gc_cpu_fraction = 0.1537;
  h.heap_inuse_end = 150 * (1 << 20);
  a.stages.back().heap = h;
  // Without live readings the live columns say so; the churn-inclusive rate is labelled as churn.
  std::string md = renderSummaryMarkdown(rec, a, 1);
  EXPECT_NE(
      md.find("### Go runtime\n\n| stage | live objects end | live Δ | live bytes Δ | retention | all objects/s (churn) | GC cycles | GC "
              "CPU | HeapInuse end MiB | goroutines |\n|---|---:|---:|---:|---|---:|---:|---:|---:|---:|\n"
              "| hold | - | - | - | - | 35000 | 204 | 15.4% | 150.0 | - |\n"),
      std::string::npos)
      << md;
  h.live_objects_end = 51000;
  h.live_objects_delta = 50000;
  h.live_bytes_delta = 4400000;
  h.live_objects_slope = SlopeEstimate{9870.2, 420.4, 0.95, 13};
  a.stages.back().heap = h;
  md = renderSummaryMarkdown(rec, a, 1);
  EXPECT_NE(md.find("| hold | 51000 | +50000 |"), std::string::npos) << md;
  EXPECT_NE(md.find("retaining 9,870 objects/s ± 420 (95%, 13 live readings)"), std::string::npos) << md;
}

TEST(SummaryMd, PageCacheTableWhenTheStagesHaveIt) {
  RunRecord rec;
  RunAnalysis a = analysisWithChecks(rec);
  ASSERT_FALSE(a.stages.empty());
  StagePageCache pc;
  pc.file_bytes = summarize({47.0 * (1 << 20), 128.0 * (1 << 20)});
  pc.major_faults_per_s = 4321.04;
  pc.refaults_per_s = 3999.96;
  a.stages.back().page_cache = pc;
  const std::string md = renderSummaryMarkdown(rec, a, 1);
  EXPECT_NE(md.find("### Page cache of the target's cgroup\n\n| stage | file min MiB | file max MiB | major faults/s | file refaults/s |\n"
                    "|---|---:|---:|---:|---:|\n| hold | 47.0 | 128.0 | 4321.0 | 4000.0 |\n"),
            std::string::npos)
      << md;
}

}  // namespace
}  // namespace memstrain
