#pragma once
// A loopback HTTP/1.1 server for tests whose handler can misbehave on demand: any status, delays,
// hanging until the server stops, closing or resetting mid-response, trickling bytes, endless
// bodies, or arbitrary raw bytes.
//
//   HttpTestServer server([](const TestHttpRequest& req, ResponseWriter& w) {
//     if (req.path == "/slow") { w.sleepFor(std::chrono::seconds(5)); }
//     w.respond(200, "hello");
//   });
//   HttpClient().get(server.url("/slow"));
//
// It listens on 127.0.0.1 on an ephemeral port only. Each connection gets its own thread and
// carries one request (responses say "Connection: close"). stop() (also run by the destructor)
// wakes every sleeping or hanging handler, shuts every connection down and joins all threads, so a
// test never outlives its server.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace memstrain::testing {

/// A parsed request. Header names are lower-cased.
struct TestHttpRequest {
  std::string method;  ///< "GET", "POST", ...
  std::string target;  ///< as sent: "/debug/pprof/heap?gc=1"
  std::string path;    ///< target before '?': "/debug/pprof/heap"
  std::string query;   ///< target after '?', "" when none: "gc=1"
  std::map<std::string, std::string> headers;
  std::string body;  ///< Content-Length bytes of body, if any
};

class HttpTestServer;

/// What a handler uses to answer. Every sending method returns false once the peer is gone or the
/// server is stopping; a handler should then return. After the handler returns, the connection is
/// closed (unless close() or reset() already did).
class ResponseWriter {
 public:
  /// Sends a whole response: status line, Content-Type, Content-Length, "Connection: close",
  /// `extra_headers` (each "Name: value"), then `body`.
  bool respond(int status, std::string_view body, std::string_view content_type = "text/plain; charset=utf-8",
               const std::vector<std::string>& extra_headers = {});

  /// Sends a status line and headers only. With `content_length` < 0 no Content-Length is sent
  /// (the body then ends when the connection closes), so a handler can follow with writeRaw(),
  /// trickle() or endlessBody().
  bool sendHead(int status, long long content_length, std::string_view content_type = "application/octet-stream");

  /// Sends bytes exactly as given: for hand-made or broken responses.
  bool writeRaw(std::string_view bytes);

  /// Sends `bytes` `chunk_bytes` at a time, sleeping `pause` between chunks.
  bool trickle(std::string_view bytes, std::chrono::milliseconds pause, std::size_t chunk_bytes = 1);

  /// Sends `chunk` over and over until the peer goes away or the server stops. Returns the number
  /// of bytes sent.
  std::size_t endlessBody(std::string_view chunk);

  /// Sleeps for `d`, or less when the server stops. Returns false when it stopped.
  bool sleepFor(std::chrono::milliseconds d);

  /// Blocks until the server stops: a server that accepted and never answers.
  void hangUntilStopped();

  /// Closes the connection now with an orderly FIN.
  void close();

  /// Aborts the connection now with a TCP RST (SO_LINGER with zero timeout, then close).
  void reset();

  /// The connection's socket, for anything the methods above do not cover. -1 after close().
  int fd() const { return fd_; }

  /// True once the server is stopping.
  bool stopping() const;

 private:
  friend class HttpTestServer;
  ResponseWriter(HttpTestServer& server, int fd) : server_(server), fd_(fd) {}
  HttpTestServer& server_;
  int fd_;
};

/// The server. Construction binds and starts accepting; failures to bind abort the test binary
/// with a message (a test cannot run without it).
class HttpTestServer {
 public:
  using Handler = std::function<void(const TestHttpRequest&, ResponseWriter&)>;

  explicit HttpTestServer(Handler handler);
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  /// The port bound on 127.0.0.1.
  std::uint16_t port() const { return port_; }

  /// "http://127.0.0.1:<port>" followed by `path`.
  std::string url(std::string_view path = "/") const;

  /// Requests whose head was read completely (handler invoked), so far.
  std::size_t requestCount() const { return requests_.load(); }

  /// Stops accepting, wakes sleeping and hanging handlers, shuts down open connections and joins
  /// every thread. Idempotent.
  void stop();

 private:
  friend class ResponseWriter;
  void acceptLoop();
  void serveConnection(int fd);
  bool waitForStop(std::chrono::milliseconds d);  // true when stopping

  Handler handler_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> requests_{0};
  std::thread accept_thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> connection_threads_;  // guarded by mu_
  std::vector<int> open_fds_;                    // guarded by mu_
};

}  // namespace memstrain::testing
