// HTTP peers that hang, reset, trickle bytes or send endless bodies, against the parts of
// memstrain that talk HTTP besides the pprof client (covered in http_client_test.cpp): readiness
// polling, stage actions and latency probes. Each must give up in bounded time and memory.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "memstrain/executor/actions.hpp"
#include "memstrain/executor/readiness.hpp"
#include "memstrain/observers/latency_probe.hpp"
#include "memstrain/util/fs.hpp"
#include "support/http_test_server.hpp"

namespace memstrain {
namespace {

using namespace memstrain::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Resident memory of this process, from /proc/self/status (kB).
std::uint64_t rssKb() {
  auto text = readFile("/proc/self/status");
  if (!text) return 0;
  const auto pos = text->find("VmRSS:");
  return pos == std::string::npos ? 0 : std::stoull(text->substr(pos + 6));
}

void hang(const TestHttpRequest&, ResponseWriter& w) { w.hangUntilStopped(); }
void trickle(const TestHttpRequest&, ResponseWriter& w) {
  if (w.sendHead(200, 1 << 20)) w.trickle(std::string(1 << 20, 'x'), 50ms);
}
void endless(const TestHttpRequest&, ResponseWriter& w) {
  if (w.sendHead(200, -1)) w.endlessBody(std::string(64 << 10, 'x'));
}
void resetAfterHead(const TestHttpRequest&, ResponseWriter& w) {
  if (w.sendHead(200, 100)) w.reset();
}

TEST(HostileReadiness, EveryMisbehaviourEndsAtTheReadyTimeout) {
  for (auto handler : {&hang, &trickle, &endless, &resetAfterHead}) {
    HttpTestServer server(handler);
    const auto t0 = Clock::now();
    const Status st = waitForReady(server.url("/healthz"), 1500ms, std::nullopt, nullptr);
    const double took = secondsSince(t0);
    EXPECT_FALSE(st.ok());
    // Each attempt is capped by what is left of the deadline: no overshoot of a full attempt.
    EXPECT_GE(took, 1.4);
    EXPECT_LT(took, 2.0) << st.error().message;
    EXPECT_NE(st.error().message.find("did not answer 2xx within"), std::string::npos) << st.error().message;
  }
}

TEST(HostileReadiness, StopFlagEndsTheWaitWithinAnAttempt) {
  HttpTestServer server(&hang);
  std::atomic<int> stop{0};
  std::thread raiser([&] {
    std::this_thread::sleep_for(300ms);
    stop.store(15);
  });
  const auto t0 = Clock::now();
  const Status st = waitForReady(server.url("/"), 30s, std::nullopt, &stop);
  raiser.join();
  EXPECT_FALSE(st.ok());
  EXPECT_LT(secondsSince(t0), 1.6);  // the attempt under way (≤ 1 s) finishes, then the flag wins
}

TEST(HostileActions, AHangingPeerCannotHoldUpTheEndOfARun) {
  HttpTestServer server(&hang);
  ActionRunner runner;
  StageAction a;
  a.method = "POST";
  a.url = server.url("/grow");
  a.timeout = std::chrono::minutes(5);
  for (int i = 0; i < 5; ++i) runner.submit(a, "hold", i * 0.1);
  std::this_thread::sleep_for(100ms);
  const auto t0 = Clock::now();
  runner.stop(200ms);
  EXPECT_LT(secondsSince(t0), 2.0) << "grace 200 ms + about a second for libcurl to notice the abort";
  int errors = 0, skipped = 0;
  for (const auto& e : runner.drain()) {
    errors += e.kind == "action_error";
    skipped += e.kind == "action_skipped";
    if (e.kind == "action_skipped") {
      EXPECT_NE(e.detail.find("not sent"), std::string::npos) << e.detail;
    }
  }
  EXPECT_EQ(errors, 1);  // the one in flight, aborted
  EXPECT_EQ(skipped, 4);
}

TEST(HostileActions, GraceLetsPromptActionsFinishNormally) {
  HttpTestServer server([](const TestHttpRequest&, ResponseWriter& w) { w.respond(200, "ok"); });
  ActionRunner runner;
  StageAction a;
  a.url = server.url("/drop");
  for (int i = 0; i < 3; ++i) runner.submit(a, "release", 0);
  runner.stop(5s);
  int ok = 0;
  for (const auto& e : runner.drain()) ok += e.kind == "action";
  EXPECT_EQ(ok, 3);
}

TEST(HostileActions, EndlessAndTrickledBodiesAreCutByCapAndTimeout) {
  HttpTestServer endless_server(&endless);
  HttpTestServer trickle_server(&trickle);
  ActionRunner runner;
  StageAction big;
  big.url = endless_server.url("/");
  big.timeout = 20s;
  StageAction slow;
  slow.url = trickle_server.url("/");
  slow.timeout = 500ms;
  const std::uint64_t rss0 = rssKb();
  const auto t0 = Clock::now();
  runner.submit(big, "a", 0);
  runner.submit(slow, "a", 0);
  runner.stop(10s);
  EXPECT_LT(secondsSince(t0), 8.0);
  std::vector<RunEvent> events = runner.drain();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, "action_error");
  EXPECT_NE(events[0].detail.find("exceeds the cap"), std::string::npos) << events[0].detail;  // the 1 MiB cap
  EXPECT_EQ(events[1].kind, "action_error");
  EXPECT_NE(events[1].detail.find("timed out"), std::string::npos) << events[1].detail;
  EXPECT_LT(rssKb(), rss0 + 32 * 1024) << "an endless body must not be buffered";
}

TEST(HostileProbes, EndlessBodiesAreDiscardedAndTimedOut) {
  HttpTestServer server(&endless);
  ProbeSpec cfg;
  cfg.name = "endless";
  cfg.url = server.url("/work");
  cfg.rate_per_s = 10;
  cfg.timeout = 300ms;
  LatencyProbe probe(cfg);
  const std::uint64_t rss0 = rssKb();
  ASSERT_TRUE(probe.start().ok());
  std::this_thread::sleep_for(1500ms);
  const auto t0 = Clock::now();
  probe.stop();
  EXPECT_LT(secondsSince(t0), 1.5) << "stop waits at most timeout + 250 ms";
  const ProbeWindow w = probe.takeWindow();
  EXPECT_GT(w.sent, 5u);
  EXPECT_GT(w.errors.timeout, 0u);
  EXPECT_EQ(w.ok, 0u);
  EXPECT_LT(rssKb(), rss0 + 32 * 1024) << "probe bodies are discarded, not kept";
}

}  // namespace
}  // namespace memstrain
