// The conventions every command shares: exit codes, --help with an example, --version, logging
// (levels from SPDLOG_LEVEL, JSON lines, UTC), plan input and the JSON answers of validate and
// --dry-run.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "memstrain/cli/cli.hpp"
#include "memstrain/cli/logging.hpp"
#include "memstrain/cli/options.hpp"
#include "memstrain/cli/plan_input.hpp"
#include "memstrain/util/build_info.hpp"
#include "support/log_capture.hpp"

namespace memstrain {
namespace {

namespace po = boost::program_options;
using nlohmann::json;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Cli, ExitCodesAreDistinctAndListedInTheManPageAndReadme) {
  std::set<int> seen;
  for (const auto& e : exitCodeTable()) EXPECT_TRUE(seen.insert(e.code).second) << "exit code " << e.code << " twice";
  EXPECT_EQ(seen.size(), 10U);
  EXPECT_EQ(kExitRegression, 8);
  EXPECT_EQ(kExitNotFound, 9);
  const std::string man = slurp(std::string(MEMSTRAIN_SOURCE_DIR) + "/docs/memstrain.1");
  const std::string readme = slurp(std::string(MEMSTRAIN_SOURCE_DIR) + "/README.md");
  for (const auto& e : exitCodeTable()) {
    EXPECT_NE(man.find(".IP " + std::to_string(e.code) + "\n"), std::string::npos) << "man page lacks exit code " << e.code;
    EXPECT_NE(readme.find("| " + std::to_string(e.code) + " | "), std::string::npos) << "README lacks exit code " << e.code;
  }
}

TEST(Cli, VersionNamesCommitBuildTypeAndCompiler) {
  const std::string v = versionText();
  EXPECT_EQ(v.rfind(std::string("memstrain ") + buildInfo().version + "\n", 0), 0U) << v;
  EXPECT_NE(v.find("\ncommit: "), std::string::npos) << v;
  EXPECT_NE(v.find("\nbuild: "), std::string::npos) << v;
  EXPECT_NE(v.find("\ncompiler: "), std::string::npos) << v;
  const std::string commit = buildInfo().commit;
  EXPECT_TRUE(commit == "unknown" || commit.size() == 40) << commit;
  EXPECT_EQ(shortCommit({"1", "0123456789abcdef0123456789abcdef01234567", true, "", ""}), "0123456789ab-dirty");
  EXPECT_EQ(shortCommit({"1", "unknown", false, "", ""}), "unknown");
}

TEST(Cli, HelpShowsUsageOptionsExamplesAndExitCodes) {
  po::options_description d;
  d.add_options()("json", "as JSON");
  po::variables_map vm;
  std::ostringstream out;
  LogCapture log;
  const CommandHelp help{"memstrain x PLAN", "Does x.", "memstrain x a.json\nmemstrain x - < a.json", "0 done, 2 usage"};
  EXPECT_EQ(parseCommandLine({"--help"}, d, {{"plan"}}, help, vm, out), 0);
  const std::string h = out.str();
  EXPECT_EQ(h.rfind("usage: memstrain x PLAN\n\nDoes x.\n", 0), 0U) << h;
  EXPECT_NE(h.find("--json"), std::string::npos) << h;
  EXPECT_NE(h.find("--log-format"), std::string::npos) << h;
  EXPECT_NE(h.find("examples:\n  memstrain x a.json\n  memstrain x - < a.json\n"), std::string::npos) << h;
  EXPECT_NE(h.find("exit: 0 done, 2 usage\n"), std::string::npos) << h;
  po::variables_map vm2;
  EXPECT_EQ(parseCommandLine({}, d, {{"plan"}}, help, vm2, out), 2);
  EXPECT_NE(log.text().find("missing PLAN; usage: memstrain x PLAN (see --help)"), std::string::npos) << log.text();
  po::variables_map vm3;
  EXPECT_EQ(parseCommandLine({"a.json", "--log-format", "yaml"}, d, {{"plan"}}, help, vm3, out), 2);
  EXPECT_NE(log.text().find("--log-format must be text or json"), std::string::npos) << log.text();
  po::variables_map vm4;
  EXPECT_EQ(parseCommandLine({"a.json", "--bogus"}, d, {{"plan"}}, help, vm4, out), 2);
  po::variables_map vm5;
  EXPECT_EQ(parseCommandLine({"a.json", "--json"}, d, {{"plan"}}, help, vm5, out), std::nullopt);
  EXPECT_EQ(optionString(vm5, "plan"), "a.json");
  EXPECT_EQ(optionString(vm5, "nothing", "dflt"), "dflt");
  setupLogging({});
}

TEST(Cli, SpdlogLevelIsReadAsSpdlogDocumentsIt) {
  using L = spdlog::level::level_enum;
  EXPECT_EQ(levelFromSpdlogEnv("debug"), L::debug);
  EXPECT_EQ(levelFromSpdlogEnv("WARN"), L::warn);
  EXPECT_EQ(levelFromSpdlogEnv("warning"), L::warn);
  EXPECT_EQ(levelFromSpdlogEnv("error"), L::err);
  EXPECT_EQ(levelFromSpdlogEnv("off"), L::off);
  EXPECT_EQ(levelFromSpdlogEnv("warn,memstrain=trace"), L::trace);
  EXPECT_EQ(levelFromSpdlogEnv("memstrain=debug, info"), L::debug);
  EXPECT_EQ(levelFromSpdlogEnv("other=debug,error"), L::err);
  EXPECT_EQ(levelFromSpdlogEnv("other=debug"), std::nullopt) << "names no level for memstrain";
  EXPECT_EQ(levelFromSpdlogEnv("verbose"), std::nullopt) << "spdlog would read this as off";
  EXPECT_EQ(levelFromSpdlogEnv("memstrain=loud"), std::nullopt);
}

TEST(Cli, SpdlogLevelAndFlagsSetTheLevel) {
  LogCapture log;
  ::setenv("SPDLOG_LEVEL", "error", 1);
  setupLogging({});
  spdlog::warn("hidden");
  spdlog::error("shown");
  setupLogging({LogFormat::kText, /*verbose=*/true, false, false});
  spdlog::debug("verbose wins over the variable");
  ::unsetenv("SPDLOG_LEVEL");
  setupLogging({LogFormat::kText, false, /*quiet=*/true, false});
  spdlog::info("quiet hides info");
  const std::string t = log.text();
  EXPECT_EQ(t.find("hidden"), std::string::npos) << t;
  EXPECT_NE(t.find("shown"), std::string::npos) << t;
  EXPECT_NE(t.find("verbose wins over the variable"), std::string::npos) << t;
  EXPECT_EQ(t.find("quiet hides info"), std::string::npos) << t;
  setupLogging({});
}

TEST(Cli, TextLinesCarryUtcTimeWithZoneAndJsonLinesAreJson) {
  LogCapture log;
  setupLogging({});
  spdlog::info("hello");
  setupLogging({LogFormat::kJson, false, false, false});
  spdlog::warn("a \"quoted\"\nline\x01");
  setupLogging({});
  std::istringstream lines(log.text());
  std::string text_line, json_line;
  std::getline(lines, text_line);
  std::getline(lines, json_line);
  // 2024-05-01T10:00:00.123Z info hello
  ASSERT_GE(text_line.size(), 25U) << text_line;
  EXPECT_EQ(text_line[10], 'T');
  EXPECT_EQ(text_line[23], 'Z') << text_line;
  EXPECT_NE(text_line.find("Z info hello"), std::string::npos) << text_line;
  const json j = json::parse(json_line);
  EXPECT_EQ(j["level"], "warning");
  EXPECT_EQ(j["msg"], "a \"quoted\"\nline\x01");
  EXPECT_EQ(j["time"].get<std::string>().back(), 'Z');
  EXPECT_EQ(jsonLogLine(1700000000123, "info", "x"), R"({"time":"2023-11-14T22:13:20.123Z","level":"info","msg":"x"})");
}

TEST(Cli, ValidateJsonForAValidAndAnInvalidPlan) {
  const std::string dir = ::testing::TempDir();
  const std::string good = dir + "/cli-good.json";
  std::ofstream(good) << R"({"name": "k8s", "target": {"attach": {"cgroup": "/kubepods/x"}},
      "stages": [{"name": "hold", "duration": "1m30s", "pressure": {"size": "512Mi"}}]})";
  const PlanInput in = readPlanInput(good);
  ASSERT_TRUE(in.plan.ok()) << in.plan.error().message;
  const json v = validateJson(in);
  EXPECT_EQ(v["valid"], true);
  EXPECT_EQ(v["name"], "k8s");
  EXPECT_EQ(v["mode"], "attach");
  EXPECT_EQ(v["total_duration_s"], 90.0);
  EXPECT_EQ(v["stages"][0]["pressure"]["size_bytes"], 512ULL << 20);
  EXPECT_TRUE(v["problems"].empty());
  EXPECT_FALSE(in.text.empty());

  const std::string bad = dir + "/cli-bad.json";
  std::ofstream(bad) << R"({"name": "k8s", "stages": [{"name": "hold", "duration": "1m30"}]})";
  const PlanInput b = readPlanInput(bad);
  ASSERT_FALSE(b.plan.ok());
  const json vb = validateJson(b);
  EXPECT_EQ(vb["valid"], false);
  std::set<std::string> pointers;
  for (const auto& p : vb["problems"]) pointers.insert(p["pointer"].get<std::string>());
  EXPECT_TRUE(pointers.count("/target")) << vb.dump();
  EXPECT_TRUE(pointers.count("/stages/0/duration")) << vb.dump();
  EXPECT_FALSE(vb.contains("name"));
  EXPECT_TRUE(isStdinPlan("-"));
  EXPECT_TRUE(isStdinPlan("/dev/stdin"));
  EXPECT_FALSE(isStdinPlan("plan.json"));
}

}  // namespace
}  // namespace memstrain
