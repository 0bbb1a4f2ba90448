// The pprof observer's thread against a target whose pprof pages misbehave: whatever comes back,
// the thread records a failure and goes on; nothing escapes it (an exception leaving a std::thread
// ends the process).

#include "memstrain/observers/pprof_observer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "memstrain/util/json_write.hpp"
#include "memstrain/util/text.hpp"
#include "support/http_test_server.hpp"

namespace memstrain {
namespace {

using memstrain::testing::HttpTestServer;
using memstrain::testing::ResponseWriter;
using memstrain::testing::TestHttpRequest;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

PprofObserver::Options fastOptions(const std::string& base) {
  PprofObserver::Options o;
  o.base_url = base;
  o.interval = milliseconds(20);
  o.client.timeout = milliseconds(500);
  o.client.connect_timeout = milliseconds(500);
  o.profiles_dir = (std::filesystem::path(::testing::TempDir()) / ("pprof-observer-" + std::to_string(::getpid()))).string();
  return o;
}

// Waits until `pred` holds or 10 s pass (a loaded machine is slow, never that slow).
template <class Pred>
bool eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return pred();
}

// The reproduction: heap?debug=1 answers 500 with bytes that are not UTF-8. The failure line
// written to samples.jsonl must be valid JSON text, and the message valid UTF-8.
TEST(PprofObserverTest, AFailureWithBytesThatAreNotUtf8IsRecordedAsValidText) {
  HttpTestServer server([](const TestHttpRequest&, ResponseWriter& w) { w.respond(500, "\xff\xfe\xc3 broken \x80\x81 utf8 \xe2\x82"); });
  std::mutex mu;
  std::vector<std::string> lines;
  PprofObserver obs(fastOptions(server.url("/debug/pprof")), std::chrono::steady_clock::now(), [&](const nlohmann::json& j) {
    std::lock_guard<std::mutex> lock(mu);
    lines.push_back(j.dump());  // the strict dump the executor's writer used: it threw here
  });
  obs.start();
  ASSERT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return lines.size() >= 2;
  }));
  obs.stop();
  ASSERT_FALSE(obs.failures().empty());
  for (const auto& f : obs.failures()) {
    EXPECT_TRUE(isValidUtf8(f.message)) << f.message;
    EXPECT_THAT(f.message, HasSubstr("HTTP status 500: \\xff\\xfe"));
    EXPECT_EQ(f.kind, "http_status");
  }
}

// A writer that throws (a full disk, a bug) must not end the process: the thread records it and
// polls on, and stop() returns.
TEST(PprofObserverTest, AWriterThatThrowsDoesNotEndTheThread) {
  HttpTestServer server([](const TestHttpRequest&, ResponseWriter& w) { w.respond(503, "down"); });
  std::atomic<int> calls{0};
  PprofObserver obs(fastOptions(server.url("/debug/pprof")), std::chrono::steady_clock::now(), [&](const nlohmann::json&) {
    ++calls;
    throw std::runtime_error("disk full");
  });
  obs.start();
  ASSERT_TRUE(eventually([&] { return calls.load() >= 3; })) << "the observer stopped polling after the first throw";
  obs.stop();
  EXPECT_GE(obs.failures().size(), 3u);
}

}  // namespace
}  // namespace memstrain
