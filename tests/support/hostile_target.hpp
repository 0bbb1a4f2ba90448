#pragma once
// A target that misbehaves on every endpoint memstrain talks to, for the hostile-target tests of
// issue 15: readiness, the latency probe, heap?debug=1 (MemStats), the heap profile,
// goroutine?debug=1, stage actions and the release trigger. Each endpoint answers like a healthy
// Go service (net/http/pprof pages, a gzipped heap profile) until told to misbehave one way:
//
//   HostileTarget t;
//   t.setAll(Misbehaviour::kNonUtf8Body);            // everything but readiness
//   t.set(HostileEndpoint::kReady, Misbehaviour::kRedirect);
//   plan["target"]["pprof_url"] = t.pprofUrl();
//
// It runs in the test process on an ephemeral 127.0.0.1 port (an HttpTestServer), so the process
// memstrain launches into the run's cgroup can be anything; stop() (and the destructor) ends every
// trickling or endless answer at once.

#include <array>
#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>

#include "support/http_test_server.hpp"

namespace memstrain::testing {

/// The endpoints of a target that memstrain talks to.
enum class HostileEndpoint { kReady, kProbe, kHeapDebug, kHeap, kGoroutineDebug, kAction, kTrigger };
inline constexpr std::size_t kHostileEndpoints = 7;

/// Ways to misbehave. Each one is deterministic per request number: some alternate between two
/// forms (even requests the first, odd ones the second) so that one run sees both; readiness
/// always gets the first form.
enum class Misbehaviour {
  kHealthy,            ///< what a healthy Go target answers
  kNonUtf8Body,        ///< 500 (even requests) or 200 (odd) with bytes that are not UTF-8, NULs and escapes
  kHostileHeaders,     ///< the healthy body with headers holding bytes that are not UTF-8, NULs and escapes
  kHugeHeader,         ///< the healthy body after a 1 MiB header
  kEndlessChunked,     ///< 200, Transfer-Encoding: chunked, chunks until the peer leaves
  kSlowLoris,          ///< the status line and headers one byte every 50 ms, never finished
  kResetMidBody,       ///< declares 1 MiB, sends 64 KiB, then a TCP RST
  kGzipGarbage,        ///< 200, Content-Encoding: gzip, the gzip magic followed by garbage
  kGzipBomb,           ///< 200, Content-Encoding: gzip, 64 MiB of zeros in about 64 KiB
  kAbsurdValues,       ///< well-formed but absurd: 2^63 and 2^64-1 counts, negative sizes
  kInformationalOnly,  ///< 100 Continue and 103 Early Hints, then the connection closes
  kRedirect,           ///< 302 to a closed port (even requests) or 301 to itself (odd)
  kNoContent,          ///< 204 with no body
};

const char* toString(HostileEndpoint e);
const char* toString(Misbehaviour m);

class HostileTarget {
 public:
  HostileTarget();
  ~HostileTarget();
  HostileTarget(const HostileTarget&) = delete;
  HostileTarget& operator=(const HostileTarget&) = delete;

  /// How endpoint `e` answers from now on.
  void set(HostileEndpoint e, Misbehaviour m);
  /// Every endpoint but readiness (a target that never gets ready ends the run before the others
  /// are asked anything).
  void setAllButReady(Misbehaviour m);

  /// Full URLs for a plan: ready_url, probe.url, actions[].url, release.trigger.url, pprof_url.
  std::string url(HostileEndpoint e) const;
  std::string pprofUrl() const { return server_.url("/debug/pprof"); }

  /// Requests answered so far on `e`.
  std::size_t requests(HostileEndpoint e) const;

  /// Ends every answer in progress and joins the server's threads. Idempotent.
  void stop() { server_.stop(); }

 private:
  void handle(const TestHttpRequest& req, ResponseWriter& w);

  mutable std::mutex mu_;
  std::array<Misbehaviour, kHostileEndpoints> mode_{};
  std::array<std::atomic<std::size_t>, kHostileEndpoints> count_{};
  HttpTestServer server_;
};

}  // namespace memstrain::testing
