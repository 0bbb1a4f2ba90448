#include "memstrain/observers/pprof_client.hpp"

#include <algorithm>
#include <utility>

namespace memstrain {
namespace {

// Endpoints of net/http/pprof, relative to the pprof base URL.
constexpr const char* kHeapPath = "/heap";
constexpr const char* kHeapAfterGcPath = "/heap?gc=1";
constexpr const char* kHeapDebugPath = "/heap?debug=1";
constexpr const char* kHeapDebugAfterGcPath = "/heap?gc=1&debug=1";
constexpr const char* kGoroutineDebugPath = "/goroutine?debug=1";

PprofErrorKind fromHttp(HttpErrorKind kind) {
  switch (kind) {
    case HttpErrorKind::kConnectRefused: return PprofErrorKind::kConnectRefused;
    case HttpErrorKind::kConnectFailed: return PprofErrorKind::kConnectFailed;
    case HttpErrorKind::kTimeout: return PprofErrorKind::kTimeout;
    case HttpErrorKind::kTooLarge: return PprofErrorKind::kTooLarge;
    case HttpErrorKind::kHttpStatus: return PprofErrorKind::kHttpStatus;
    case HttpErrorKind::kTransport: return PprofErrorKind::kTransport;
  }
  return PprofErrorKind::kTransport;
}

HttpOptions httpOptionsFor(const PprofClientOptions& o) {
  HttpOptions h;
  h.total_timeout = o.timeout;
  h.connect_timeout = std::min(o.connect_timeout, o.timeout);
  h.max_body_bytes = o.limits.max_compressed_bytes;
  h.abort = o.abort;
  return h;
}

}  // namespace

const char* pprofErrorKindName(PprofErrorKind kind) {
  switch (kind) {
    case PprofErrorKind::kNone: return "none";
    case PprofErrorKind::kConnectRefused: return "connect_refused";
    case PprofErrorKind::kConnectFailed: return "connect_failed";
    case PprofErrorKind::kTimeout: return "timeout";
    case PprofErrorKind::kTooLarge: return "too_large";
    case PprofErrorKind::kHttpStatus: return "http_status";
    case PprofErrorKind::kTransport: return "transport";
    case PprofErrorKind::kBadBody: return "bad_body";
  }
  return "unknown";
}

PprofClient::PprofClient(std::string base_url, PprofClientOptions options)
    : base_url_(std::move(base_url)), options_(options), http_(httpOptionsFor(options)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

Result<std::string> PprofClient::get(const std::string& path, std::size_t max_body_bytes, std::chrono::nanoseconds* elapsed) {
  HttpOptions h = httpOptionsFor(options_);
  h.max_body_bytes = max_body_bytes;
  http_.setOptions(h);
  HttpResult r = http_.get(base_url_ + path);
  if (!r) {
    last_error_kind_ = fromHttp(r.error().kind);
    return r.error().toError();
  }
  if (elapsed != nullptr) *elapsed = r.value().elapsed;
  last_error_kind_ = PprofErrorKind::kNone;
  return std::move(r).value().body;
}

Result<HeapSnapshot> PprofClient::fetchHeapProfileRaw() {
  HeapSnapshot snap;
  auto body = get(options_.gc_before_heap ? kHeapAfterGcPath : kHeapPath, options_.limits.max_compressed_bytes, &snap.elapsed);
  if (!body) return body.error();
  snap.raw = std::move(body).value();
  return snap;
}

Result<HeapSnapshot> PprofClient::fetchHeapProfile() {
  auto snap = fetchHeapProfileRaw();
  if (!snap) return snap.error();
  auto profile = decodeProfile(snap->raw, options_.limits);
  if (!profile) {
    last_error_kind_ = PprofErrorKind::kBadBody;
    return Error{"GET " + base_url_ + (options_.gc_before_heap ? kHeapAfterGcPath : kHeapPath) + ": " + profile.error().message};
  }
  snap->profile = std::move(profile).value();
  return snap;
}

Result<GoMemStats> PprofClient::fetchMemStats() {
  auto body = get(kHeapDebugPath, options_.limits.max_compressed_bytes, nullptr);
  if (!body) return body.error();
  auto stats = parseMemStats(*body);
  if (!stats) {
    last_error_kind_ = PprofErrorKind::kBadBody;
    return Error{"GET " + base_url_ + kHeapDebugPath + ": " + stats.error().message};
  }
  return stats;
}

Result<GoMemStats> PprofClient::fetchMemStatsAfterGc(std::chrono::nanoseconds* elapsed) {
  auto body = get(kHeapDebugAfterGcPath, options_.limits.max_compressed_bytes, elapsed);
  if (!body) return body.error();
  auto stats = parseMemStats(*body);
  if (!stats) {
    last_error_kind_ = PprofErrorKind::kBadBody;
    return Error{"GET " + base_url_ + kHeapDebugAfterGcPath + ": " + stats.error().message};
  }
  return stats;
}

Result<std::uint64_t> PprofClient::fetchGoroutineCount() {
  auto body = get(kGoroutineDebugPath, options_.limits.max_compressed_bytes, nullptr);
  if (!body) return body.error();
  auto n = parseGoroutineTotal(*body);
  if (!n) {
    last_error_kind_ = PprofErrorKind::kBadBody;
    return Error{"GET " + base_url_ + kGoroutineDebugPath + ": " + n.error().message};
  }
  return n;
}

}  // namespace memstrain
