#pragma once
// A loopback HTTP/1.1 server whose every response is held back by a delay the test chooses, and
// which can be frozen ("stalled") for a while the way a Go process is frozen by a long pause.
// For probe accuracy tests and the probe benchmark; not for production.
//
// One thread, epoll, timerfd (nanosecond timers, so injected delays are honoured to within the
// scheduler's wake-up latency, ~50 µs, not a millisecond), keep-alive, thousands of connections.
// Listens on 127.0.0.1 only.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "memstrain/util/result.hpp"

namespace memstrain::test_support {

/// What the server does with one request: wait `delay` after the request arrived, then answer
/// with `status` (body "ok\n" for 2xx, "error\n" otherwise). A status <= 0 closes the connection
/// without any answer instead (a crash as the client sees it; note that libcurl retries a request
/// once when a *reused* keep-alive connection closes without an answer). `truncate` sends the
/// headers and part of the promised body, then closes: an error no client retries.
struct DelayReply {
  std::chrono::nanoseconds delay{0};
  int status = 200;
  bool truncate = false;
};

/// One parsed request. The views are valid only during the handler call.
struct DelayRequest {
  std::uint64_t seq = 0;          ///< 0-based arrival number
  std::string_view method;        ///< "GET"
  std::string_view target;        ///< "/path?query"
  std::string_view header_block;  ///< the header lines after the request line, CRLF-separated
  std::string_view body;
};

/// Called on the server thread for each request.
using DelayHandler = std::function<DelayReply(const DelayRequest& request)>;

class DelayServer {
 public:
  /// Binds 127.0.0.1:`port` (0 = any free port), starts the server thread. Returns an Error
  /// naming the failing syscall when the socket, epoll or timer cannot be set up.
  static Result<std::unique_ptr<DelayServer>> start(DelayHandler handler, std::uint16_t port = 0);

  /// Stops the thread and closes every connection.
  ~DelayServer();
  DelayServer(const DelayServer&) = delete;
  DelayServer& operator=(const DelayServer&) = delete;

  std::uint16_t port() const { return port_; }
  /// "http://127.0.0.1:PORT" + path.
  std::string url(std::string_view path = "/") const;

  /// Freezes the server for `d` from now: no response leaves before now + d, including those
  /// already due; requests keep being accepted and read (the kernel would queue them anyway).
  /// Thread-safe.
  void stallFor(std::chrono::nanoseconds d);

  std::uint64_t requestsReceived() const { return requests_.load(std::memory_order_relaxed); }
  std::uint64_t responsesSent() const { return responses_.load(std::memory_order_relaxed); }
  /// Connections accepted since start (keep-alive reuse keeps this small).
  std::uint64_t connectionsAccepted() const { return accepted_.load(std::memory_order_relaxed); }

 private:
  struct Impl;
  DelayServer() = default;
  void run();

  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
  std::atomic<std::int64_t> stall_until_ns_{0};  // steady_clock ns
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> responses_{0};
  std::atomic<std::uint64_t> accepted_{0};
  std::thread thread_;
};

}  // namespace memstrain::test_support
