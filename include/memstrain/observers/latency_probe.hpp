#pragma once
// An open-loop HTTP latency probe: one thread, libcurl multi driven by epoll (epoll_pwait2 with
// nanosecond timeouts for the send schedule).
//
// Requests are scheduled at a constant rate, request i at t0 + i/rate, whatever the target does:
// a slow response never delays the next send (that is what makes the probe "open loop", and what
// closed-loop tools such as wrk or hey get wrong under a stall). Each response is timed twice:
//   corrected   = completion - intended send time  (coordinated-omission corrected, as in wrk2)
//   uncorrected = completion - actual send time
// The two differ by how late the probe actually sent: its own scheduling lag (recorded in a third
// histogram) plus, when `concurrency` caps the requests on the wire, the time a request waited for
// a free connection. With the default (no cap), a server stall shows in both; with a cap (a client
// with a fixed connection pool, wrk2's model) only the corrected one sees the queued requests.
//
// Results are read as windows: takeWindow() returns everything recorded since the previous call
// and starts a new window, without pausing the probe. The executor calls it once per second for
// the time series and once at each stage boundary, and merges windows into per-stage figures.
// A request belongs to the window in which it completed (latency, errors) or in which it was sent
// (sent, missed, scheduling lag).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "memstrain/model/plan.hpp"
#include "memstrain/model/probe_window.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

/// Checks a probe before any socket is opened (the plan parser has checked a plan's probes the
/// same way; this guards probes made in code). Returns an Error naming the field and the expected
/// form: url (http/https), method (a token), headers ("Name: value", no CR/LF), rate_per_s
/// (finite, 0 < rate <= 100000), timeout (at least 1 ms), max_in_flight (>= 1), concurrency
/// (<= max_in_flight), expect_status (non-empty, codes 100..599, first <= last).
Status validateProbeSpec(const ProbeSpec& spec);

/// How a request ended.
enum class ProbeOutcome {
  kOk,          ///< a response with an expected status
  kTimeout,     ///< the transfer exceeded ProbeSpec::timeout (connect timeouts included)
  kConnect,     ///< could not connect: refused, unreachable, name not resolved
  kHttpStatus,  ///< a response with a status outside expect_status
  kOther,       ///< anything else: reset mid-response, empty reply, malformed response, ...
};
const char* toString(ProbeOutcome outcome);  ///< "ok", "timeout", "connect", "http_status", "other"

/// Classifies a finished transfer from libcurl's result code (a CURLcode) and the response status
/// (0 when none). Pure; the rules are the ones documented on ProbeOutcome.
ProbeOutcome classifyTransfer(int curl_code, long http_status, const std::vector<StatusRange>& expect);

/// Offset of request `i` from the schedule's start: i / rate seconds, computed from i each time so
/// that rounding never accumulates into drift.
std::chrono::nanoseconds scheduleOffset(std::uint64_t i, double rate_per_s);

/// The probe. Create, start(), takeWindow() as often as needed from any one thread, stop().
class LatencyProbe {
 public:
  /// Keeps a copy of the config; nothing is opened until start().
  explicit LatencyProbe(ProbeSpec spec);
  /// Stops the probe if it is running (see stop()).
  ~LatencyProbe();
  LatencyProbe(const LatencyProbe&) = delete;
  LatencyProbe& operator=(const LatencyProbe&) = delete;

  /// Validates the config, sets up curl and the timers, and starts the probe thread; the first
  /// request is due at once. Returns an Error when the config is invalid, when a syscall or curl
  /// setup fails, or when the probe was already started (a probe runs once).
  Status start();

  /// Stops sending, waits for the requests already sent to finish (at most timeout + 250 ms),
  /// abandons the rest (counted as cancelled, as are sends still queued for a connection), and
  /// joins the thread. Blocks for up to that long. Idempotent; a no-op before start().
  void stop();

  /// The first half of stop(): tells the probe thread to stop sending and drain, and returns at
  /// once. stop() then only waits. Idempotent; a no-op before start().
  void requestStop();

  /// Everything recorded since the previous call (or since start()), and opens the next window at
  /// the same instant so consecutive windows tile time without gaps or overlaps. Thread-safe with
  /// respect to the probe thread; call it from one thread at a time. Allocates the next window's
  /// histograms (about 800 KiB) outside the lock, so the probe thread never waits on an allocation.
  /// After stop() it returns what was recorded up to the end (then empty windows).
  ProbeWindow takeWindow();

  const ProbeSpec& config() const { return config_; }

 private:
  struct Impl;
  ProbeSpec config_;
  std::unique_ptr<Impl> impl_;
};

/// Stops every probe in parallel: all are told to stop first, then each is waited for, so the
/// whole takes as long as the slowest drain (its timeout + 250 ms), not the sum of them.
void stopProbes(const std::vector<LatencyProbe*>& probes);

}  // namespace memstrain
