#include "memstrain/report/metrics_server.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <spdlog/spdlog.h>

#include "memstrain/util/text.hpp"

namespace memstrain {
namespace {

constexpr std::size_t kMaxRequestBytes = 8192;
constexpr auto kRequestDeadline = std::chrono::seconds(2);

std::string response(int status, const char* reason, const std::string& content_type, const std::string& body, bool head) {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + content_type +
                  "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n";
  if (status == 405) r += "Allow: GET, HEAD\r\n";
  r += "\r\n";
  if (!head) r += body;
  return r;
}

std::string hostPort(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = "";
  std::uint16_t port = 0;
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
  ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
  port = ntohs(a->sin_port);
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace

Result<std::pair<std::string, std::uint16_t>> parseListenAddress(std::string_view text) {
  const std::string expected =
      "--metrics-addr: expected HOST:PORT like 127.0.0.1:9464, [::1]:9464 or :9464, got \"" + std::string(text) + "\"";
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return Error{expected};
  std::string host(text.substr(0, colon));
  const std::string_view port_text = text.substr(colon + 1);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return Error{expected};
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return Error{expected + " (an IPv6 address goes in brackets)"};
  }
  auto port = parseUint64(port_text);
  if (port_text.empty() || !port || *port > 65535) return Error{expected + " (port 0 to 65535)"};
  return std::make_pair(host, static_cast<std::uint16_t>(*port));
}

std::string metricsHttpResponse(std::string_view head, const std::function<std::string()>& render) {
  const auto eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || line.substr(sp2 + 1, 5) != "HTTP/") {
    return response(400, "Bad Request", "text/plain; charset=utf-8", "malformed request line\n", false);
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (const auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  const bool is_head = method == "HEAD";
  if (method != "GET" && !is_head) return response(405, "Method Not Allowed", "text/plain; charset=utf-8", "GET or HEAD\n", false);
  if (path == "/metrics") return response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", render(), is_head);
  if (path == "/") {
    return response(200, "OK", "text/html; charset=utf-8",
                    "<html><head><title>memstrain</title></head><body><a href=\"/metrics\">/metrics</a></body></html>\n", is_head);
  }
  return response(404, "Not Found", "text/plain; charset=utf-8", "not found; metrics are at /metrics\n", is_head);
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& address, std::function<std::string()> render) {
  auto hp = parseListenAddress(address);
  if (!hp) return hp.error();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(hp->second);
  if (const int rc = ::getaddrinfo(hp->first.empty() ? nullptr : hp->first.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return Error{"--metrics-addr " + address + ": " + ::gai_strerror(rc)};
  }
  Error last{"--metrics-addr " + address + ": no address to listen on"};
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = Error::fromErrno("--metrics-addr " + address + ": socket");
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 16) != 0) {
      last = Error::fromErrno("--metrics-addr " + address + ": bind");
      ::close(fd);
      continue;
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    const std::uint16_t bound_port = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                                              : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    ::freeaddrinfo(res);
    return std::unique_ptr<MetricsServer>(new MetricsServer(fd, hostPort(ss), bound_port, std::move(render)));
  }
  ::freeaddrinfo(res);
  return last;
}

MetricsServer::MetricsServer(int fd, std::string bound, std::uint16_t port, std::function<std::string()> render)
    : fd_(fd), bound_(std::move(bound)), port_(port), render_(std::move(render)) {
  thread_ = std::thread([this] { serve(); });
}

MetricsServer::~MetricsServer() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void MetricsServer::serve() {
  while (!stop_.load()) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    answer(client);
    ::close(client);
  }
}

// One request, bounded in size and time: a client that sends too much or too slowly gets 400 or
// nothing, and the next one is served.
void MetricsServer::answer(int client) {
  const auto deadline = std::chrono::steady_clock::now() + kRequestDeadline;
  std::string head;
  bool too_large = false;
  char buf[2048];
  while (!too_large && head.find("\r\n\r\n") == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0 || stop_.load()) return;
    pollfd p{client, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::min<long long>(left, 100))) <= 0) continue;
    const ssize_t n = ::recv(client, buf, sizeof buf, 0);
    if (n <= 0) return;
    head.append(buf, static_cast<std::size_t>(n));
    too_large = head.size() > kMaxRequestBytes;
  }
  const std::string out = too_large
                              ? response(431, "Request Header Fields Too Large", "text/plain; charset=utf-8", "request too large\n", false)
                              : metricsHttpResponse(head, render_);
  requests_.fetch_add(1);
  std::size_t sent = 0;
  while (sent < out.size() && std::chrono::steady_clock::now() < deadline + kRequestDeadline && !stop_.load()) {
    pollfd p{client, POLLOUT, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::send(client, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

}  // namespace memstrain
