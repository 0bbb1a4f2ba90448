#include "memstrain/observers/http_client.hpp"

#include <curl/curl.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "memstrain/util/text.hpp"

namespace memstrain {
namespace {

void initCurlOnce() {
  static std::once_flag once;
  // curl_global_init is not thread-safe and must precede every other curl call; memstrain never
  // calls curl_global_cleanup (process exit does it), so other threads can keep using curl.
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct BodySink {
  std::string* body;
  std::size_t cap;
  bool exceeded = false;
};

std::size_t writeBody(char* data, std::size_t size, std::size_t nmemb, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  const std::size_t n = size * nmemb;
  if (n > sink->cap - sink->body->size()) {
    sink->exceeded = true;
    return 0;  // anything but n makes curl abort with CURLE_WRITE_ERROR
  }
  sink->body->append(data, n);
  return n;
}

std::string formatMs(std::chrono::nanoseconds d) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return std::to_string(us / 1000) + "." + std::to_string((us % 1000) / 100) + " ms";
}

// libcurl's progress callback: a non-zero return aborts the transfer.
int abortIfRaised(void* flag, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(flag)->load() ? 1 : 0;
}

}  // namespace

const char* httpErrorKindName(HttpErrorKind kind) {
  switch (kind) {
    case HttpErrorKind::kConnectRefused: return "connect_refused";
    case HttpErrorKind::kConnectFailed: return "connect_failed";
    case HttpErrorKind::kTimeout: return "timeout";
    case HttpErrorKind::kTooLarge: return "too_large";
    case HttpErrorKind::kHttpStatus: return "http_status";
    case HttpErrorKind::kTransport: return "transport";
  }
  return "unknown";
}

struct HttpClient::Impl {
  CURL* easy = nullptr;
  char error_buffer[CURL_ERROR_SIZE] = {};
};

HttpClient::HttpClient(HttpOptions options) : options_(options), impl_(std::make_unique<Impl>()) {
  initCurlOnce();
  impl_->easy = curl_easy_init();
}

HttpClient::~HttpClient() {
  if (impl_ && impl_->easy != nullptr) curl_easy_cleanup(impl_->easy);
}

HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&& other) noexcept {
  if (this != &other) {
    if (impl_ && impl_->easy != nullptr) curl_easy_cleanup(impl_->easy);
    options_ = other.options_;
    impl_ = std::move(other.impl_);
  }
  return *this;
}

HttpResult HttpClient::get(const std::string& url) { return perform(url, nullptr, {}); }

HttpResult HttpClient::post(const std::string& url, std::string_view body, std::string_view content_type) {
  return perform(url, &body, content_type);
}

HttpResult HttpClient::perform(const std::string& url, const std::string_view* post_body, std::string_view content_type) {
  const char* method = post_body != nullptr ? "POST" : "GET";
  const std::string what = std::string(method) + " " + url;
  if (!impl_ || impl_->easy == nullptr) {
    return HttpError{HttpErrorKind::kTransport, what + ": cannot create a libcurl handle", 0, {}, {}};
  }
  CURL* easy = impl_->easy;
  // Reset clears the previous request's options but keeps the connection cache.
  curl_easy_reset(easy);

  std::string body;
  BodySink sink{&body, options_.max_body_bytes};
  impl_->error_buffer[0] = '\0';
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);  // signals and threads do not mix
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options_.max_body_bytes));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &writeBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, impl_->error_buffer);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "memstrain");
  if (options_.abort != nullptr) {
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &abortIfRaised);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(options_.abort));
  }
  curl_slist* headers = nullptr;
  std::string content_type_header;
  if (post_body != nullptr) {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, post_body->data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post_body->size()));
    content_type_header = "Content-Type: " + std::string(content_type);
    headers = curl_slist_append(headers, content_type_header.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  }

  const auto start = std::chrono::steady_clock::now();
  const CURLcode rc = curl_easy_perform(easy);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  if (headers != nullptr) {
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
    curl_slist_free_all(headers);
  }

  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK) {
    HttpError err;
    err.elapsed = elapsed;
    err.status = status;
    long os_errno = 0;
    curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
    // libcurl's text can quote what the peer sent (a status line, a header): untrusted.
    std::string detail = sanitizeUntrusted(impl_->error_buffer[0] != '\0' ? impl_->error_buffer : curl_easy_strerror(rc));
    switch (rc) {
      case CURLE_COULDNT_CONNECT:
        err.kind = os_errno == ECONNREFUSED ? HttpErrorKind::kConnectRefused : HttpErrorKind::kConnectFailed;
        break;
      case CURLE_OPERATION_TIMEDOUT:
        err.kind = HttpErrorKind::kTimeout;
        detail = "timed out after " + formatMs(elapsed) + " (limit " + std::to_string(options_.total_timeout.count()) + " ms total, " +
                 std::to_string(options_.connect_timeout.count()) + " ms to connect); " + detail;
        break;
      case CURLE_FILESIZE_EXCEEDED: err.kind = HttpErrorKind::kTooLarge; break;
      case CURLE_WRITE_ERROR: err.kind = sink.exceeded ? HttpErrorKind::kTooLarge : HttpErrorKind::kTransport; break;
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_URL_MALFORMAT:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY: err.kind = HttpErrorKind::kConnectFailed; break;
      default: err.kind = HttpErrorKind::kTransport; break;
    }
    if (rc == CURLE_OUT_OF_MEMORY) {
      // libcurl says "Out of memory" for a response header over its 100 KB limit too.
      detail += " (libcurl's answer to a response header over its size limit, too)";
    }
    if (err.kind == HttpErrorKind::kTooLarge) {
      detail = "response body exceeds the cap of " + std::to_string(options_.max_body_bytes) + " bytes";
    } else if (err.kind == HttpErrorKind::kConnectRefused) {
      detail = "connection refused (" + detail + ")";
    }
    err.message = what + ": " + detail;
    return err;
  }

  if (status < 200 || status > 299) {
    HttpError err;
    err.kind = HttpErrorKind::kHttpStatus;
    err.status = status;
    err.elapsed = elapsed;
    // The start of the body usually says why (Go's handlers write a one-line reason). It is the
    // peer's bytes: quoted through the one policy for untrusted text, never raw.
    std::string_view head = std::string_view(body).substr(0, kUntrustedSnippetBytes);
    while (!head.empty() && (head.back() == '\n' || head.back() == '\r')) head.remove_suffix(1);
    const std::string snippet = sanitizeUntrusted(head);
    err.message = what + ": HTTP status " + std::to_string(status) + (snippet.empty() ? "" : ": " + snippet);
    err.body = std::move(body);
    return err;
  }

  HttpResponse resp;
  resp.status = status;
  resp.body = std::move(body);
  resp.elapsed = elapsed;
  char* ct = nullptr;
  if (curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != nullptr) resp.content_type = sanitizeUntrusted(ct);
  return resp;
}

}  // namespace memstrain
