#pragma once
// A small blocking HTTP client (libcurl easy interface) for talking to the target's debug
// endpoints. Every request has a total and a connect timeout and a cap on the body size; every
// failure comes back as an HttpError with a kind a caller can act on. Nothing throws.
//
// Which hosts may be contacted (memstrain only talks to loopback) is the caller's business.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "memstrain/util/result.hpp"

namespace memstrain {

/// Limits of one request.
struct HttpOptions {
  std::chrono::milliseconds total_timeout{2000};  ///< whole request, connect included
  std::chrono::milliseconds connect_timeout{1000};
  std::size_t max_body_bytes = std::size_t{64} << 20;  ///< the transfer aborts past this
  /// When set and raised, the request in flight is aborted (within about a second, the pace of
  /// libcurl's progress callback when nothing moves) and fails as kTransport "aborted".
  const std::atomic<bool>* abort = nullptr;
};

/// A completed exchange with a 2xx status.
struct HttpResponse {
  long status = 0;
  std::string body;
  std::string content_type;  ///< "" when the server sent none; sanitised (sanitizeUntrusted)
  std::chrono::nanoseconds elapsed{0};
};

/// Why a request failed.
enum class HttpErrorKind {
  kConnectRefused,  ///< nothing listens on the port (ECONNREFUSED)
  kConnectFailed,   ///< other connect failures: unreachable, DNS, bad URL, unsupported scheme
  kTimeout,         ///< total or connect timeout expired
  kTooLarge,        ///< body exceeded HttpOptions::max_body_bytes
  kHttpStatus,      ///< the server answered with a status outside 200..299
  kTransport,       ///< connection reset or closed mid-response, malformed HTTP, ...
};

/// Stable lower-case name of a kind ("connect_refused", "timeout", ...), for logs and samples.
const char* httpErrorKindName(HttpErrorKind kind);

/// A failed request: its kind, a message naming the URL, and for kHttpStatus the status and body
/// (the body is capped like any other).
struct HttpError {
  HttpErrorKind kind = HttpErrorKind::kTransport;
  std::string message;
  long status = 0;
  std::string body;
  std::chrono::nanoseconds elapsed{0};

  /// The same failure as a plain Error (message only).
  Error toError() const { return Error{message}; }
};

/// Either an HttpResponse or an HttpError.
class [[nodiscard]] HttpResult {
 public:
  HttpResult(HttpResponse r) : v_(std::move(r)) {}  // NOLINT(google-explicit-constructor)
  HttpResult(HttpError e) : v_(std::move(e)) {}     // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  HttpResponse& value() & { return std::get<0>(v_); }
  const HttpResponse& value() const& { return std::get<0>(v_); }
  HttpResponse&& value() && { return std::get<0>(std::move(v_)); }
  const HttpError& error() const { return std::get<1>(v_); }

 private:
  std::variant<HttpResponse, HttpError> v_;
};

/// One libcurl easy handle, reused across requests so that keep-alive connections are reused.
/// Not thread-safe: use one HttpClient per thread. Global libcurl initialisation happens once per
/// process, on the first construction.
class HttpClient {
 public:
  explicit HttpClient(HttpOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  const HttpOptions& options() const { return options_; }
  void setOptions(const HttpOptions& options) { options_ = options; }

  /// GET `url`. Redirects are not followed; the body is returned as sent (no content decoding).
  HttpResult get(const std::string& url);

  /// POST `body` to `url` with the given Content-Type.
  HttpResult post(const std::string& url, std::string_view body, std::string_view content_type);

 private:
  struct Impl;
  HttpResult perform(const std::string& url, const std::string_view* post_body, std::string_view content_type);

  HttpOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace memstrain
