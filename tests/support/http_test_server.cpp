#include "support/http_test_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace memstrain::testing {
namespace {

constexpr std::size_t kMaxHeadBytes = 64 * 1024;
constexpr std::size_t kMaxBodyBytes = 16 * 1024 * 1024;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "HttpTestServer: %s: %s\n", what, std::strerror(errno));
  std::abort();
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string_view trimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Parses the request head (everything before the blank line). False when malformed.
bool parseHead(std::string_view head, TestHttpRequest& req) {
  auto eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  auto sp1 = line.find(' ');
  auto sp2 = line.find(' ', sp1 == std::string_view::npos ? sp1 : sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) return false;
  req.method = std::string(line.substr(0, sp1));
  req.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  req.query = q == std::string::npos ? "" : req.target.substr(q + 1);
  std::string_view rest = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 2);
  while (!rest.empty()) {
    auto e = rest.find("\r\n");
    std::string_view h = rest.substr(0, e);
    rest = e == std::string_view::npos ? std::string_view{} : rest.substr(e + 2);
    auto colon = h.find(':');
    if (colon == std::string_view::npos) continue;
    req.headers[lower(std::string(trimSpaces(h.substr(0, colon))))] = std::string(trimSpaces(h.substr(colon + 1)));
  }
  return true;
}

}  // namespace

// --- ResponseWriter -----------------------------------------------------------------------------

bool ResponseWriter::stopping() const { return server_.stopping_.load(); }

bool ResponseWriter::writeRaw(std::string_view bytes) {
  while (!bytes.empty()) {
    if (fd_ < 0 || stopping()) return false;
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool ResponseWriter::sendHead(int status, long long content_length, std::string_view content_type) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) + "\r\n";
  head += "Content-Type: " + std::string(content_type) + "\r\n";
  if (content_length >= 0) head += "Content-Length: " + std::to_string(content_length) + "\r\n";
  head += "Connection: close\r\n\r\n";
  return writeRaw(head);
}

bool ResponseWriter::respond(int status, std::string_view body, std::string_view content_type,
                             const std::vector<std::string>& extra_headers) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) + "\r\n";
  head += "Content-Type: " + std::string(content_type) + "\r\n";
  head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  head += "Connection: close\r\n";
  for (const auto& h : extra_headers) head += h + "\r\n";
  head += "\r\n";
  return writeRaw(head) && writeRaw(body);
}

bool ResponseWriter::trickle(std::string_view bytes, std::chrono::milliseconds pause, std::size_t chunk_bytes) {
  chunk_bytes = std::max<std::size_t>(chunk_bytes, 1);
  while (!bytes.empty()) {
    std::size_t n = std::min(chunk_bytes, bytes.size());
    if (!writeRaw(bytes.substr(0, n))) return false;
    bytes.remove_prefix(n);
    if (!bytes.empty() && !sleepFor(pause)) return false;
  }
  return true;
}

std::size_t ResponseWriter::endlessBody(std::string_view chunk) {
  std::size_t sent = 0;
  if (chunk.empty()) return 0;
  while (writeRaw(chunk)) sent += chunk.size();
  return sent;
}

bool ResponseWriter::sleepFor(std::chrono::milliseconds d) { return !server_.waitForStop(d); }

void ResponseWriter::hangUntilStopped() {
  while (!server_.waitForStop(std::chrono::hours(1))) {
  }
}

void ResponseWriter::close() {
  if (fd_ < 0) return;
  ::shutdown(fd_, SHUT_WR);
  // The fd stays registered with the server (which closes it) so that stop() never touches a
  // number the kernel may have reused; we only stop using it here.
  fd_ = -1;
}

void ResponseWriter::reset() {
  if (fd_ < 0) return;
  linger lg{};
  lg.l_onoff = 1;
  lg.l_linger = 0;
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  // With a zero linger, shutdown is skipped and the close in serveConnection sends the RST.
  fd_ = -1;
}

// --- HttpTestServer -----------------------------------------------------------------------------

HttpTestServer::HttpTestServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) die("socket");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind 127.0.0.1:0");
  if (::listen(listen_fd_, 64) != 0) die("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) die("getsockname");
  port_ = ntohs(addr.sin_port);
  if (::pipe2(wake_pipe_, O_CLOEXEC) != 0) die("pipe2");
  accept_thread_ = std::thread([this] { acceptLoop(); });
}

HttpTestServer::~HttpTestServer() { stop(); }

std::string HttpTestServer::url(std::string_view path) const { return "http://127.0.0.1:" + std::to_string(port_) + std::string(path); }

bool HttpTestServer::waitForStop(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, d, [this] { return stopping_.load(); });
}

void HttpTestServer::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_.exchange(true)) return;
    // Unblock handlers stuck in send()/recv() on connections that are still open.
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  cv_.notify_all();
  char byte = 'x';
  (void)!::write(wake_pipe_[1], &byte, 1);
  if (accept_thread_.joinable()) accept_thread_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(connection_threads_);
  }
  for (auto& t : threads) t.join();
  ::close(listen_fd_);
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
}

void HttpTestServer::acceptLoop() {
  while (!stopping_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    int rc = ::poll(fds, 2, -1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if ((fds[1].revents & POLLIN) != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_.load()) {
      ::close(fd);
      return;
    }
    open_fds_.push_back(fd);
    connection_threads_.emplace_back([this, fd] { serveConnection(fd); });
  }
}

void HttpTestServer::serveConnection(int fd) {
  std::string buf;
  std::size_t head_end = std::string::npos;
  TestHttpRequest req;
  bool ok = false;
  char chunk[4096];
  // Read the head, then Content-Length bytes of body.
  while (!stopping_.load()) {
    if (head_end == std::string::npos) {
      head_end = buf.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        if (!parseHead(std::string_view(buf).substr(0, head_end), req)) break;
      } else if (buf.size() > kMaxHeadBytes) {
        break;
      }
    }
    if (head_end != std::string::npos) {
      std::size_t want = 0;
      auto it = req.headers.find("content-length");
      if (it != req.headers.end()) want = std::min<std::size_t>(std::strtoull(it->second.c_str(), nullptr, 10), kMaxBodyBytes);
      if (buf.size() - (head_end + 4) >= want) {
        req.body = buf.substr(head_end + 4, want);
        ok = true;
        break;
      }
    }
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, 100);
    if (rc < 0 && errno != EINTR) break;
    if (rc <= 0) continue;
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  if (ok) {
    requests_.fetch_add(1);
    ResponseWriter w(*this, fd);
    handler_(req, w);
    if (w.fd() >= 0) ::shutdown(fd, SHUT_WR);
  }
  std::lock_guard<std::mutex> lock(mu_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  ::close(fd);
}

}  // namespace memstrain::testing
