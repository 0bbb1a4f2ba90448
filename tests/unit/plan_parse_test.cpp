#include "memstrain/plan/plan_parse.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include <fstream>

namespace memstrain {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

json validPlan() {
  return json::parse(R"({
    "name": "demo",
    "target": {
      "launch": {"command": ["tests/target/bin/demo-target", "-addr", "127.0.0.1:6060"],
                 "env": {"GODEBUG": "madvdontneed=1"}, "memory_limit": "512MiB",
                 "ready_url": "http://127.0.0.1:6060/healthz"},
      "pprof_url": "http://127.0.0.1:6060/debug/pprof"},
    "sampling": {"interval": "250ms"},
    "stages": [
      {"name": "baseline", "duration": "10s"},
      {"name": "ramp", "duration": "20s", "pressure": {"placement": "inside", "level": "80%", "ramp": "15s"}},
      {"name": "hold", "duration": "30s", "pressure": {"placement": "inside", "level": "80%"}},
      {"name": "release", "duration": "15s"}]})");
}

TEST(PlanParse, ValidPlanBecomesTypedData) {
  std::vector<PlanIssue> issues;
  auto p = parsePlan(validPlan().dump(), &issues);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_TRUE(issues.empty());
  EXPECT_EQ(p->name, "demo");
  ASSERT_TRUE(p->target.launch.has_value());
  EXPECT_EQ(p->target.launch->memory_limit_bytes, 512ULL << 20);
  EXPECT_EQ(p->target.launch->command.size(), 3U);
  EXPECT_EQ(p->target.launch->env.at("GODEBUG"), "madvdontneed=1");
  EXPECT_EQ(p->sampling.interval, 250ms);
  ASSERT_EQ(p->stages.size(), 4U);
  EXPECT_FALSE(p->stages[0].pressure.has_value());
  ASSERT_TRUE(p->stages[1].pressure.has_value());
  EXPECT_DOUBLE_EQ(*p->stages[1].pressure->level_fraction, 0.8);
  EXPECT_EQ(p->stages[1].pressure->ramp, 15s);
  EXPECT_EQ(p->stages[1].pressure->oom_score_adj, 1000);
  EXPECT_EQ(p->totalDuration(), 75s);
  EXPECT_EQ(p->source, validPlan());
}

struct BadCase {
  const char* what;
  std::function<void(json&)> mutate;
  const char* pointer;
  const char* message_part;
};

class PlanParseBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(PlanParseBad, ReportsThePointerAndWhatWasExpected) {
  const BadCase& c = GetParam();
  json j = validPlan();
  c.mutate(j);
  std::vector<PlanIssue> issues;
  auto p = parsePlan(j.dump(), &issues);
  ASSERT_FALSE(p.ok()) << c.what;
  bool found = false;
  for (const auto& i : issues) {
    if (i.pointer == c.pointer && i.message.find(c.message_part) != std::string::npos) found = true;
  }
  EXPECT_TRUE(found) << c.what << ": wanted " << c.pointer << ": ..." << c.message_part << "...\ngot:\n" << p.error().message;
  // The combined message carries the pointer, so a user sees where.
  EXPECT_NE(p.error().message.find(c.pointer), std::string::npos);
}

const BadCase kBadCases[] = {
    {"unknown top-level key", [](json& j) { j["stagez"] = 1; }, "/stagez", "unknown key"},
    {"missing name", [](json& j) { j.erase("name"); }, "/name", "required"},
    {"name not a string", [](json& j) { j["name"] = 5; }, "/name", "expected a string, got an integer"},
    {"empty name", [](json& j) { j["name"] = ""; }, "/name", "must not be empty"},
    {"missing target", [](json& j) { j.erase("target"); }, "/target", "required"},
    {"both launch and attach",
     [](json& j) {
       j["target"]["attach"] = {{"pid", 5}};
     },
     "/target", "exactly one of"},
    {"neither launch nor attach", [](json& j) { j["target"].erase("launch"); }, "/target", "exactly one of"},
    {"command empty", [](json& j) { j["target"]["launch"]["command"] = json::array(); }, "/target/launch/command", "non-empty array"},
    {"command wrong type", [](json& j) { j["target"]["launch"]["command"] = "demo-target"; }, "/target/launch/command", "got a string"},
    {"command element wrong type", [](json& j) { j["target"]["launch"]["command"][1] = 6060; }, "/target/launch/command/1",
     "expected a string"},
    {"missing memory_limit", [](json& j) { j["target"]["launch"].erase("memory_limit"); }, "/target/launch/memory_limit", "required"},
    {"bad memory unit", [](json& j) { j["target"]["launch"]["memory_limit"] = "512 megs"; }, "/target/launch/memory_limit",
     "expected a size like"},
    {"tiny memory limit", [](json& j) { j["target"]["launch"]["memory_limit"] = "1MiB"; }, "/target/launch/memory_limit", "out of range"},
    {"absurd memory limit", [](json& j) { j["target"]["launch"]["memory_limit"] = "9000TiB"; }, "/target/launch/memory_limit",
     "out of range"},
    {"overflowing memory limit", [](json& j) { j["target"]["launch"]["memory_limit"] = "99999999999999999999GiB"; },
     "/target/launch/memory_limit", "too large"},
    {"negative memory limit", [](json& j) { j["target"]["launch"]["memory_limit"] = -5; }, "/target/launch/memory_limit",
     "expected a size"},
    {"env not object", [](json& j) { j["target"]["launch"]["env"] = json::array({"A=B"}); }, "/target/launch/env", "expected an object"},
    {"env value not string", [](json& j) { j["target"]["launch"]["env"]["GOGC"] = 50; }, "/target/launch/env/GOGC", "expected a string"},
    {"env name with =", [](json& j) { j["target"]["launch"]["env"]["A=B"] = "x"; }, "/target/launch/env/A=B", "no '='"},
    {"ready_url not http", [](json& j) { j["target"]["launch"]["ready_url"] = "ftp://x"; }, "/target/launch/ready_url", "http://"},
    {"unknown launch key", [](json& j) { j["target"]["launch"]["memory"] = "1GiB"; }, "/target/launch/memory", "unknown key"},
    {"pprof_url not a url", [](json& j) { j["target"]["pprof_url"] = "localhost:6060"; }, "/target/pprof_url", "http://"},
    {"attach with dotdot",
     [](json& j) {
       j["target"].erase("launch");
       j["target"]["attach"] = {{"cgroup", "/a/../b"}};
     },
     "/target/attach/cgroup", ".."},
    {"attach relative",
     [](json& j) {
       j["target"].erase("launch");
       j["target"]["attach"] = {{"cgroup", "a/b"}};
     },
     "/target/attach/cgroup", "absolute"},
    {"attach root",
     [](json& j) {
       j["target"].erase("launch");
       j["target"]["attach"] = {{"cgroup", "/"}};
     },
     "/target/attach/cgroup", "root cgroup"},
    {"attach pid zero",
     [](json& j) {
       j["target"].erase("launch");
       j["target"]["attach"] = {{"pid", 0}};
     },
     "/target/attach/pid", "between"},
    {"attach pid huge",
     [](json& j) {
       j["target"].erase("launch");
       j["target"]["attach"] = {{"pid", 1e30}};
     },
     "/target/attach/pid", "expected an integer"},
    {"attach both",
     [](json& j) {
       j["target"].erase("launch");
       j["target"]["attach"] = {{"pid", 10}, {"cgroup", "/x"}};
     },
     "/target/attach", "exactly one"},
    {"attach cgroup_only not a bool",
     [](json& j) {
       j["target"].erase("launch");
       j["target"]["attach"] = {{"container_id", "0123456789ab"}, {"cgroup_only", "yes"}};
     },
     "/target/attach/cgroup_only", "expected true or false"},
    {"interval too small", [](json& j) { j["sampling"]["interval"] = "1ms"; }, "/sampling/interval", "out of range"},
    {"interval without unit", [](json& j) { j["sampling"]["interval"] = "250"; }, "/sampling/interval", "expected a duration"},
    {"interval number", [](json& j) { j["sampling"]["interval"] = 250; }, "/sampling/interval", "expected a string"},
    {"stages not array", [](json& j) { j["stages"] = json::object(); }, "/stages", "expected an array"},
    {"no stages", [](json& j) { j["stages"] = json::array(); }, "/stages", "at least one stage"},
    {"stage not object", [](json& j) { j["stages"][1] = "ramp"; }, "/stages/1", "expected an object"},
    {"stage without name", [](json& j) { j["stages"][2].erase("name"); }, "/stages/2/name", "required"},
    {"duplicate stage names", [](json& j) { j["stages"][2]["name"] = "ramp"; }, "/stages/2/name", "duplicate stage name"},
    {"stage name with slash", [](json& j) { j["stages"][0]["name"] = "../etc"; }, "/stages/0/name", "[A-Za-z0-9._-]"},
    {"stage without duration", [](json& j) { j["stages"][0].erase("duration"); }, "/stages/0/duration", "required"},
    {"stage duration zero", [](json& j) { j["stages"][0]["duration"] = "0s"; }, "/stages/0/duration", "out of range"},
    {"stage duration huge", [](json& j) { j["stages"][0]["duration"] = "100000h"; }, "/stages/0/duration", "out of range"},
    {"unknown stage key", [](json& j) { j["stages"][0]["pressur"] = {}; }, "/stages/0/pressur", "unknown key"},
    {"level and size", [](json& j) { j["stages"][1]["pressure"]["size"] = "100MiB"; }, "/stages/1/pressure", "exactly one of"},
    {"neither level nor size", [](json& j) { j["stages"][1]["pressure"].erase("level"); }, "/stages/1/pressure", "exactly one of"},
    {"level not a percent", [](json& j) { j["stages"][1]["pressure"]["level"] = "lots"; }, "/stages/1/pressure/level",
     "expected a percent"},
    {"level as number", [](json& j) { j["stages"][1]["pressure"]["level"] = 0.8; }, "/stages/1/pressure/level", "got a number"},
    {"level as size", [](json& j) { j["stages"][1]["pressure"]["level"] = "400MiB"; }, "/stages/1/pressure/level", "expected a percent"},
    {"level above 100", [](json& j) { j["stages"][1]["pressure"]["level"] = "150%"; }, "/stages/1/pressure/level", "at most 100%"},
    {"level zero", [](json& j) { j["stages"][1]["pressure"]["level"] = "0%"; }, "/stages/1/pressure/level", "above 0%"},
    {"level in safety margin", [](json& j) { j["stages"][1]["pressure"]["level"] = "99%"; }, "/stages/1/pressure/level", "allow_oom"},
    {"bad placement", [](json& j) { j["stages"][1]["pressure"]["placement"] = "cluster"; }, "/stages/1/pressure/placement",
     "\"inside\", \"beside\" or \"node\""},
    {"ramp longer than stage", [](json& j) { j["stages"][1]["pressure"]["ramp"] = "30s"; }, "/stages/1/pressure/ramp",
     "longer than its stage"},
    {"ramp bad unit", [](json& j) { j["stages"][1]["pressure"]["ramp"] = "15 seconds"; }, "/stages/1/pressure/ramp", "expected a duration"},
    {"rate without per second", [](json& j) { j["stages"][1]["pressure"]["rate"] = "500MiB"; }, "/stages/1/pressure/rate",
     "size per second"},
    {"rate and ramp", [](json& j) { j["stages"][1]["pressure"]["rate"] = "500MiB/s"; }, "/stages/1/pressure/rate", "at most one of"},
    {"hysteresis with size",
     [](json& j) {
       j["stages"][1]["pressure"] = {{"size", "64MiB"}, {"hysteresis", "8MiB"}};
     },
     "/stages/1/pressure/hysteresis", "only with \"level\""},
    {"hysteresis above a quarter", [](json& j) { j["stages"][2]["pressure"]["hysteresis"] = "30%"; }, "/stages/2/pressure/hysteresis",
     "at most 25%"},
    {"hysteresis not a size", [](json& j) { j["stages"][2]["pressure"]["hysteresis"] = true; }, "/stages/2/pressure/hysteresis",
     "like \"2%\" or a size"},
    {"hysteresis bad unit", [](json& j) { j["stages"][2]["pressure"]["hysteresis"] = "8 megs"; }, "/stages/2/pressure/hysteresis",
     "expected a size like"},
    {"allow_oom not bool", [](json& j) { j["stages"][1]["pressure"]["allow_oom"] = "yes"; }, "/stages/1/pressure/allow_oom",
     "true or false"},
    {"oom_score_adj out of range", [](json& j) { j["stages"][1]["pressure"]["oom_score_adj"] = 5000; }, "/stages/1/pressure/oom_score_adj",
     "between -1000 and 1000"},
    {"size too small",
     [](json& j) {
       j["stages"][1]["pressure"] = {{"size", "1KiB"}};
     },
     "/stages/1/pressure/size", "out of range"},
    {"plan longer than max_duration",
     [](json& j) {
       j["safety"] = {{"max_duration", "1m"}};
     },
     "/stages", "max_duration"},
    {"margin not percent",
     [](json& j) {
       j["safety"] = {{"margin", "16MiB"}};
     },
     "/safety/margin", "percent"},
    {"top level not object",
     [](json& j) {
       j = json::array({1, 2});
     },
     "/", "expected an object"},
};

INSTANTIATE_TEST_SUITE_P(Cases, PlanParseBad, ::testing::ValuesIn(kBadCases), [](const auto& param_info) {
  std::string n = param_info.param.what;
  for (auto& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
});

TEST(PlanParse, HysteresisIsAPercentOrASize) {
  for (const auto& [text, fraction, bytes] :
       {std::tuple<json, double, std::uint64_t>{"2.5%", 0.025, 0}, {"8MiB", -1, 8ULL << 20}, {"0", -1, 0}, {json(4096), -1, 4096}}) {
    json j = validPlan();
    j["stages"][2]["pressure"]["hysteresis"] = text;
    auto p = parsePlan(j.dump());
    ASSERT_TRUE(p.ok()) << text << ": " << p.error().message;
    const PressureSpec& ps = *p->stages[2].pressure;
    if (fraction >= 0) {
      ASSERT_TRUE(ps.hysteresis_fraction.has_value()) << text;
      EXPECT_DOUBLE_EQ(*ps.hysteresis_fraction, fraction);
      EXPECT_FALSE(ps.hysteresis_bytes.has_value());
    } else {
      ASSERT_TRUE(ps.hysteresis_bytes.has_value()) << text;
      EXPECT_EQ(*ps.hysteresis_bytes, bytes);
      EXPECT_FALSE(ps.hysteresis_fraction.has_value());
    }
  }
  // Not given: neither, and resolution picks the default.
  auto p = parsePlan(validPlan().dump());
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->stages[2].pressure->hysteresis_fraction || p->stages[2].pressure->hysteresis_bytes);
}

TEST(PlanParse, AttachCgroupOnlyIsOffUnlessThePlanSaysSo) {
  auto off =
      parsePlan(R"({"name": "x", "target": {"attach": {"container_id": "0123456789ab"}}, "stages": [{"name": "a", "duration": "1s"}]})");
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_FALSE(off->target.attach->cgroup_only);
  auto on = parsePlan(
      R"({"name": "x", "target": {"attach": {"pod_uid": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", "cgroup_only": true}},
          "stages": [{"name": "a", "duration": "1s"}]})");
  ASSERT_TRUE(on.ok()) << on.error().message;
  EXPECT_TRUE(on->target.attach->cgroup_only);
}

TEST(PlanParse, CollectsAllIssuesNotJustTheFirst) {
  json j = validPlan();
  j["name"] = 1;
  j["sampling"]["interval"] = "fast";
  j["stages"][1]["pressure"]["level"] = "lots";
  std::vector<PlanIssue> issues;
  ASSERT_FALSE(parsePlan(j.dump(), &issues).ok());
  EXPECT_EQ(issues.size(), 3U);
}

TEST(PlanParse, SyntaxErrorsGiveLineAndColumn) {
  auto p = parsePlan("{\n  \"name\": \"x\",\n  \"stages\": [,]\n}");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("line 3"), std::string::npos) << p.error().message;
}

TEST(PlanParse, DuplicateKeysAreRejected) {
  std::string text = validPlan().dump();
  text.insert(1, "\"name\": \"first\", ");
  auto p = parsePlan(text);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("duplicate key \"name\""), std::string::npos) << p.error().message;
}

TEST(PlanParse, DeepNestingIsRejected) {
  std::string text = "{\"name\": " + std::string(5000, '[') + std::string(5000, ']') + "}";
  auto p = parsePlan(text);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("nesting deeper"), std::string::npos) << p.error().message;
}

TEST(PlanParse, InvalidUtf8IsRejected) {
  std::string text = validPlan().dump();
  auto pos = text.find("demo");
  text[pos] = static_cast<char>(0xff);
  auto p = parsePlan(text);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("not valid JSON"), std::string::npos) << p.error().message;
}

TEST(PlanParse, OversizedTextIsRejectedBeforeParsing) {
  std::string text(kMaxPlanBytes + 1, ' ');
  auto p = parsePlan(text);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("larger than"), std::string::npos);
}

TEST(PlanParse, LoadPlanPrefixesThePath) {
  const std::string path = ::testing::TempDir() + "/memstrain_bad_plan.json";
  {
    std::ofstream f(path);
    f << R"({"name": "x", "stages": []})";
  }
  auto p = loadPlan(path);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message.rfind(path + ": ", 0), 0U) << p.error().message;
  auto missing = loadPlan("/nonexistent/plan.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/plan.json"), std::string::npos);
}

TEST(PlanParse, ShippedPlansAreValid) {
  int plans = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(MEMSTRAIN_SOURCE_DIR) + "/plans")) {
    if (entry.path().extension() != ".json") continue;
    ++plans;
    auto p = loadPlan(entry.path().string());
    EXPECT_TRUE(p.ok()) << entry.path() << ": " << p.error().message;
  }
  EXPECT_GE(plans, 7);
}

// A probe's expect_status, moved here from the latency probe's tests with the parser.
TEST(PlanParse, ParsesStatusRanges) {
  auto r = parseStatusRanges("200-299, 304 ,404");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (std::vector<StatusRange>{{200, 299}, {304, 304}, {404, 404}}));
  for (const char* bad : {"", "20", "600", "299-200", "2xx", "200,", "200-", "-200"}) {
    auto b = parseStatusRanges(bad);
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.error().message.find("expect_status"), std::string::npos);
  }
}

// The parser hands the probe its expect_status as ranges (ProbeSpec is the probe's one config).
TEST(PlanParse, ProbeExpectStatusBecomesRanges) {
  json j = validPlan();
  j["target"]["probe"] = json::array({{{"url", "http://127.0.0.1:6060/work"}, {"expect_status", "200,204-206"}},
                                      {{"url", "http://127.0.0.1:6060/work"}, {"name", "code"}, {"expect_status", 503}},
                                      {{"url", "http://127.0.0.1:6060/work"}, {"name", "default"}}});
  std::vector<PlanIssue> issues;
  auto p = parsePlan(j.dump(), &issues);
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_EQ(p->target.probes.size(), 3U);
  EXPECT_EQ(p->target.probes[0].expect_status, (std::vector<StatusRange>{{200, 200}, {204, 206}}));
  EXPECT_EQ(p->target.probes[1].expect_status, (std::vector<StatusRange>{{503, 503}}));
  EXPECT_EQ(p->target.probes[2].expect_status, (std::vector<StatusRange>{{200, 299}}));

  j["target"]["probe"][0]["expect_status"] = "2xx";
  issues.clear();
  EXPECT_FALSE(parsePlan(j.dump(), &issues).ok());
  ASSERT_FALSE(issues.empty());
  EXPECT_EQ(issues[0].pointer, "/target/probe/0/expect_status");
}

}  // namespace
}  // namespace memstrain
