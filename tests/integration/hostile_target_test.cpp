// Issue 15: a hostile target must never cost a run. Each case is a short real run (a process in
// the run's cgroup, a stressor under pressure, probes, pprof, an action and a release trigger)
// against a target that misbehaves one way on every endpoint memstrain talks to
// (tests/support/hostile_target.hpp). Every run must end with a verdict and the documented exit
// code, the problem in the report, a valid report.json and samples.jsonl, and nothing left behind —
// never an abort.
//
// Needs root and a cgroup memory controller; about 5 s per case.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memstrain/util/text.hpp"
#include "support/hostile_target.hpp"
#include "support/run_fixture.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::HostileEndpoint;
using testing::HostileTarget;
using testing::Misbehaviour;
using testing::slurp;

class HostileTargetTest : public memstrain::testing::RunFixture {
 protected:
  HostileTargetTest() : RunFixture("memstrain-hostile") {}

  // Three stages: a baseline with an action, a squeeze with a stressor, a release stage with an
  // HTTP trigger. Timeouts are short so that endless and trickling answers cost little.
  json planFor(const std::string& name, const HostileTarget& t) const {
    return {{"name", name},
            {"target",
             {{"launch",
               {{"command", {"/bin/sleep", "600"}},
                {"memory_limit", "256MiB"},
                {"ready_url", t.url(HostileEndpoint::kReady)},
                {"ready_timeout", "2s"}}},
              {"pprof_url", t.pprofUrl()},
              {"probe", {{"url", t.url(HostileEndpoint::kProbe)}, {"rate_per_s", 20}, {"timeout", "300ms"}}}}},
            {"sampling", {{"interval", "100ms"}, {"pprof_interval", "250ms"}}},
            {"pprof", {{"timeout", "500ms"}, {"max_body", "8MiB"}, {"max_decompressed", "32MiB"}}},
            {"stages",
             {{{"name", "baseline"},
               {"duration", "1s"},
               {"actions", {{{"at", "0s"}, {"url", t.url(HostileEndpoint::kAction)}, {"timeout", "1s"}}}}},
              {{"name", "squeeze"}, {"duration", "1s"}, {"pressure", {{"size", "16MiB"}}}},
              {{"name", "release"},
               {"duration", "1500ms"},
               {"release",
                {{"trigger", {{"url", t.url(HostileEndpoint::kTrigger)}, {"at", "300ms"}, {"timeout", "1s"}}},
                 {"expect", {{"within", "800ms"}}}}}}}}};
  }

  struct Outcome {
    int exit = -1;
    json report;
    std::string stderr_text;
    std::vector<json> samples;
  };

  // Runs the plan and checks what every hostile run must show, whatever the misbehaviour.
  Outcome runAndCheckInvariants(const std::string& name, const HostileTarget& t) {
    Outcome o;
    const fs::path out = dir_ / name;
    o.exit = run(writePlan(name, planFor(name, t)), out, name + ".out", name + ".err");
    o.stderr_text = slurp(dir_ / (name + ".err"));
    const std::string stdout_text = slurp(dir_ / (name + ".out"));
    EXPECT_GE(o.exit, 0) << "memstrain did not exit normally\n" << o.stderr_text;
    EXPECT_EQ(o.stderr_text.find("terminate called"), std::string::npos) << o.stderr_text;
    EXPECT_EQ(o.stderr_text.find("runtime error"), std::string::npos) << o.stderr_text;
    EXPECT_EQ(o.stderr_text.find("Sanitizer"), std::string::npos) << o.stderr_text;
    EXPECT_NE(lastLineOf(stdout_text).find("memstrain: verdict="), std::string::npos) << stdout_text;
    const std::string report_text = slurp(out / "report.json");
    EXPECT_TRUE(isValidUtf8(report_text));
    o.report = json::parse(report_text, nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(o.report.is_object()) << "report.json is missing or not JSON\n" << o.stderr_text;
    if (!o.report.is_object()) return o;
    EXPECT_NE(lastLineOf(stdout_text).find(" exit=" + std::to_string(o.exit) + " "), std::string::npos) << lastLineOf(stdout_text);
    expectNothingLeft(o.report);
    std::ifstream samples(out / "samples.jsonl");
    for (std::string line; std::getline(samples, line);) {
      json s = json::parse(line, nullptr, false);
      EXPECT_FALSE(s.is_discarded()) << "samples.jsonl line is not JSON: " << line.substr(0, 200);
      if (!s.is_discarded()) o.samples.push_back(std::move(s));
    }
    for (const char* f : {"report.html", "junit.xml", "summary.md", "metrics.prom"}) EXPECT_TRUE(fs::exists(out / f)) << f;
    return o;
  }

  static std::string lastLineOf(const std::string& text) { return memstrain::testing::lastLine(text); }

  static std::size_t countEvents(const json& report, const std::string& kind) {
    std::size_t n = 0;
    for (const auto& e : report["events"]) n += e["kind"] == kind ? 1 : 0;
    return n;
  }

  // Sums a latency field of the (only) probe over the stages.
  static std::size_t probeTotal(const json& report, const char* field) {
    std::size_t n = 0;
    for (const auto& st : report["stages"]) {
      for (const auto& l : st["latency"]) {
        if (std::string(field) == "errors") {
          for (const auto& [k, v] : l["errors"].items()) n += v.get<std::size_t>();
        } else {
          n += l[field].get<std::size_t>();
        }
      }
    }
    return n;
  }
};

// How much of something failed in a run.
enum class Share { kNone, kSome, kAll };

// What a run against a target misbehaving on everything but readiness must report.
struct Case {
  Misbehaviour m;
  int exit;            ///< the documented exit code: 0 pass, 5 inconclusive (no probe answer in the baseline)
  Share probe_errors;  ///< of the completed probe requests
  bool pprof_fails;    ///< pprof errors are recorded
  bool actions_fail;   ///< the baseline's action and the HTTP release trigger fail (action_error events)
};

TEST_F(HostileTargetTest, EveryMisbehaviourOnEveryEndpointEndsInAVerdict) {
  // Alternating forms (see hostile_target.hpp) make some probe requests succeed: the run has a
  // verdict from them. Forms that never succeed leave the baseline without an answer: inconclusive.
  const std::vector<Case> cases = {
      {Misbehaviour::kHealthy, 0, Share::kNone, false, false},        {Misbehaviour::kNonUtf8Body, 0, Share::kSome, true, true},
      {Misbehaviour::kHostileHeaders, 0, Share::kSome, true, true},   {Misbehaviour::kHugeHeader, 5, Share::kAll, true, true},
      {Misbehaviour::kEndlessChunked, 5, Share::kAll, true, true},    {Misbehaviour::kSlowLoris, 5, Share::kAll, true, true},
      {Misbehaviour::kResetMidBody, 5, Share::kAll, true, true},      {Misbehaviour::kGzipGarbage, 0, Share::kNone, true, false},
      {Misbehaviour::kGzipBomb, 0, Share::kNone, true, false},        {Misbehaviour::kAbsurdValues, 0, Share::kSome, true, false},
      {Misbehaviour::kInformationalOnly, 5, Share::kAll, true, true}, {Misbehaviour::kRedirect, 5, Share::kAll, true, true},
      {Misbehaviour::kNoContent, 0, Share::kNone, true, false},
  };
  for (const Case& c : cases) {
    const std::string name = std::string("all-") + testing::toString(c.m);
    SCOPED_TRACE(name);
    HostileTarget t;
    t.setAllButReady(c.m);
    Outcome o = runAndCheckInvariants(name, t);
    t.stop();
    if (!o.report.is_object()) continue;
    const std::size_t pprof_errors = o.report["pprof"]["errors"].get<std::size_t>();
    const std::size_t completed = probeTotal(o.report, "completed"), errors = probeTotal(o.report, "errors");
    std::cout << "[hostile] " << name << ": exit " << o.exit << ", probe " << errors << "/" << completed << " errors, pprof errors "
              << pprof_errors << ", action errors " << countEvents(o.report, "action_error") << "\n";
    EXPECT_EQ(o.exit, c.exit) << o.report["verdict_reasons"].dump() << "\n" << o.stderr_text.substr(0, 4000);
    EXPECT_EQ(o.report["run"]["status"], "completed") << o.report["run"].dump();
    // The problem is in the report, where a user looks for it.
    if (c.pprof_fails) {
      EXPECT_GT(pprof_errors, 0u);
      std::size_t lines = 0;
      for (const auto& s : o.samples) lines += s["kind"] == "pprof_error" ? 1 : 0;
      EXPECT_EQ(lines, pprof_errors) << "every pprof failure is a samples.jsonl line";
    } else {
      EXPECT_EQ(pprof_errors, 0u);
    }
    EXPECT_GT(completed, 0u);
    switch (c.probe_errors) {
      case Share::kNone: EXPECT_EQ(errors, 0u); break;
      case Share::kSome:
        EXPECT_GT(errors, 0u);
        EXPECT_LT(errors, completed);
        break;
      case Share::kAll: EXPECT_EQ(errors, completed) << "every completed probe request is an error"; break;
    }
    EXPECT_EQ(countEvents(o.report, "action_error") > 0, c.actions_fail) << o.report["events"].dump(1);
    EXPECT_GE(t.requests(HostileEndpoint::kAction), 1u);
    EXPECT_GE(t.requests(HostileEndpoint::kTrigger), 1u);
    EXPECT_GE(t.requests(HostileEndpoint::kHeapDebug), 1u);
    EXPECT_GE(t.requests(HostileEndpoint::kHeap), 1u) << "stage-end heap profiles";
  }
}

// Readiness is the first thing memstrain asks: a target that answers it with garbage never gets
// ready, the run ends as an error (exit 3) with the reason in a valid report — or, for a 2xx
// answer (204, an absurd body), it is ready and the run goes on.
TEST_F(HostileTargetTest, AHostileReadinessEndpointEndsTheRunWithAReason) {
  struct ReadyCase {
    Misbehaviour m;
    int exit;
  };
  for (const ReadyCase& c :
       {ReadyCase{Misbehaviour::kNonUtf8Body, 3}, ReadyCase{Misbehaviour::kHostileHeaders, 3}, ReadyCase{Misbehaviour::kHugeHeader, 3},
        ReadyCase{Misbehaviour::kEndlessChunked, 3}, ReadyCase{Misbehaviour::kSlowLoris, 3}, ReadyCase{Misbehaviour::kResetMidBody, 3},
        ReadyCase{Misbehaviour::kInformationalOnly, 3}, ReadyCase{Misbehaviour::kRedirect, 3}, ReadyCase{Misbehaviour::kNoContent, 0},
        ReadyCase{Misbehaviour::kAbsurdValues, 0}}) {
    const std::string name = std::string("ready-") + testing::toString(c.m);
    SCOPED_TRACE(name);
    HostileTarget t;
    t.set(HostileEndpoint::kReady, c.m);
    Outcome o = runAndCheckInvariants(name, t);
    t.stop();
    if (!o.report.is_object()) continue;
    EXPECT_EQ(o.exit, c.exit) << o.report["run"].dump() << "\n" << o.stderr_text.substr(0, 4000);
    std::cout << "[hostile] " << name << ": exit " << o.exit << ", " << o.report["run"]["error"].dump() << "\n";
    if (c.exit == 3 && o.report["run"]["error"].is_string()) {
      EXPECT_EQ(o.report["run"]["status"], "error");
      const std::string error = o.report["run"]["error"].get<std::string>();
      EXPECT_NE(error.find("target not ready"), std::string::npos) << error;
      EXPECT_TRUE(isValidUtf8(error)) << error;
    }
  }
}

}  // namespace
}  // namespace memstrain
