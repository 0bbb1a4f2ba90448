#pragma once
// Reads a Go target's runtime state through its net/http/pprof endpoints:
//   {base}/heap             gzip-compressed heap profile (protobuf)
//   {base}/heap?debug=1     text page whose trailer is runtime.MemStats
//   {base}/heap?gc=1&debug=1  the same after a forced GC (live readings)
//   {base}/goroutine?debug=1  "goroutine profile: total N"
// Each call is one bounded HTTP request (timeout, body caps) followed by a pure parse; failures
// are Errors whose message names the URL, plus a kind for pprof_error samples.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "memstrain/observers/http_client.hpp"
#include "memstrain/pprof/memstats_parse.hpp"
#include "memstrain/pprof/pprof_decode.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

/// Limits for the pprof client; the defaults are the plan's defaults.
struct PprofClientOptions {
  std::chrono::milliseconds timeout{2000};          ///< per request, connect included
  std::chrono::milliseconds connect_timeout{1000};  ///< capped at `timeout`
  PprofLimits limits;                               ///< compressed / decompressed body caps
  /// Ask for a profile taken right after a GC (?gc=1): inuse figures then exclude garbage, at the
  /// cost of a GC cycle in the target per request.
  bool gc_before_heap = false;
  /// When set and raised, the request in flight is aborted (HttpOptions::abort).
  const std::atomic<bool>* abort = nullptr;
};

/// Why the last call failed: the HTTP kinds plus the parse failures that follow a good response.
enum class PprofErrorKind {
  kNone,
  kConnectRefused,
  kConnectFailed,
  kTimeout,
  kTooLarge,
  kHttpStatus,
  kTransport,
  kBadBody,  ///< response arrived but did not decode/parse (not gzip, bad protobuf, no MemStats...)
};

/// Stable lower-case name ("timeout", "bad_body", ...), for logs and pprof_error samples.
const char* pprofErrorKindName(PprofErrorKind kind);

/// A heap profile as fetched: the raw body (as Go served it, normally gzip; save it as
/// <stage>.pb.gz and `go tool pprof` opens it) and, for fetchHeapProfile(), its decoded form.
struct HeapSnapshot {
  std::string raw;
  HeapProfile profile;
  std::chrono::nanoseconds elapsed{0};  ///< HTTP request time (decode excluded)
};

/// A client for one target. Not thread-safe (it owns one HttpClient); use one per sampling thread.
class PprofClient {
 public:
  /// `base_url` is the pprof root, e.g. "http://127.0.0.1:6060/debug/pprof" (a trailing '/' is
  /// ignored).
  explicit PprofClient(std::string base_url, PprofClientOptions options = {});

  const std::string& baseUrl() const { return base_url_; }

  /// GET {base}/heap[?gc=1] and decode it. Errors: HTTP failures, caps, and every decoder error.
  Result<HeapSnapshot> fetchHeapProfile();

  /// GET {base}/heap[?gc=1] without decoding (snapshot.profile stays empty): for saving only.
  Result<HeapSnapshot> fetchHeapProfileRaw();

  /// GET {base}/heap?debug=1 and parse its runtime.MemStats trailer.
  Result<GoMemStats> fetchMemStats();

  /// GET {base}/heap?gc=1&debug=1: a GC in the target, then its MemStats trailer, which then
  /// counts live objects (see LiveHeapReading). `elapsed` receives the request's time.
  Result<GoMemStats> fetchMemStatsAfterGc(std::chrono::nanoseconds* elapsed);

  /// GET {base}/goroutine?debug=1 and parse the goroutine total.
  Result<std::uint64_t> fetchGoroutineCount();

  /// Kind of the last call's failure; kNone after a success.
  PprofErrorKind lastErrorKind() const { return last_error_kind_; }

 private:
  Result<std::string> get(const std::string& path, std::size_t max_body_bytes, std::chrono::nanoseconds* elapsed);

  std::string base_url_;
  PprofClientOptions options_;
  HttpClient http_;
  PprofErrorKind last_error_kind_ = PprofErrorKind::kNone;
};

}  // namespace memstrain
