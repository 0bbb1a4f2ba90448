#pragma once
// The HTTP side of `memstrain run --metrics-addr HOST:PORT`: GET /metrics answered with whatever
// `render` returns, on one thread, one connection at a time.
//
// Why not prometheus-cpp's Exposer (Debian's prometheus-cpp-dev, over civetweb): memstrain's data
// is already aggregated (HdrHistograms per second, samples) and rendered by the same writer as
// metrics.prom, so of prometheus-cpp only the HTTP server would be used; that server is civetweb,
// a general web server with a pool of worker threads, in a tool that runs as root on nodes. Serving
// one text body needs ~200 lines here: a bounded request (8 KiB, 2 s), GET/HEAD of /metrics, and no
// dependency added to the package.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "memstrain/util/result.hpp"

namespace memstrain {

/// "HOST:PORT" as --metrics-addr takes it: "127.0.0.1:9464", "[::1]:9464", "localhost:9464", or
/// ":9464" for every address. Port 0 picks a free one. Error says what was expected.
Result<std::pair<std::string, std::uint16_t>> parseListenAddress(std::string_view text);

/// What the server answers to one request's head (pure; the server's thread calls it): status
/// line, headers and body for GET/HEAD /metrics (any query string), a short page for "/", 404 for
/// other paths, 405 for other methods, 400 for a malformed request line.
std::string metricsHttpResponse(std::string_view request_head, const std::function<std::string()>& render);

class MetricsServer {
 public:
  /// Binds `address` (parseListenAddress) and starts serving. Error when the address is malformed
  /// or cannot be bound (in use, not a local address).
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& address, std::function<std::string()> render);

  /// Stops the thread (within ~100 ms) and closes the socket.
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  /// The address as bound, e.g. "127.0.0.1:9464" or "[::]:9464" (the port resolved when 0 was asked).
  const std::string& address() const { return bound_; }
  std::uint16_t port() const { return port_; }
  /// Requests answered so far (any status).
  std::uint64_t requests() const { return requests_.load(); }

 private:
  MetricsServer(int fd, std::string bound, std::uint16_t port, std::function<std::string()> render);
  void serve();
  void answer(int client);

  int fd_ = -1;
  std::string bound_;
  std::uint16_t port_ = 0;
  std::function<std::string()> render_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> requests_{0};
  std::thread thread_;
};

}  // namespace memstrain
