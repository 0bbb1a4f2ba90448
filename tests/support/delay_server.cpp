#include "support/delay_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <queue>
#include <unordered_map>
#include <vector>

namespace memstrain::test_support {
namespace {

std::int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

bool iequalsPrefix(std::string_view line, std::string_view name) {
  if (line.size() < name.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char a = line[i] >= 'A' && line[i] <= 'Z' ? static_cast<char>(line[i] - 'A' + 'a') : line[i];
    if (a != name[i]) return false;
  }
  return true;
}

std::string_view trimView(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool startsWithHead(std::string_view request_line) { return request_line.substr(0, 5) == "HEAD "; }

const char* reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

}  // namespace

struct DelayServer::Impl {
  struct Conn {
    std::uint64_t id = 0;
    std::string in;
    std::string out;
    std::size_t out_off = 0;
    bool awaiting_reply = false;  // a request was read and its reply is scheduled
    bool close_after = false;
    bool head = false;
    bool want_write = false;  // EPOLLOUT registered
  };
  struct Due {
    std::int64_t at_ns;
    int fd;
    std::uint64_t conn_id;
    int status;
    bool truncate;
    bool operator>(const Due& o) const { return at_ns > o.at_ns; }
  };

  DelayHandler handler;
  int listen_fd = -1;
  int epoll_fd = -1;
  int timer_fd = -1;
  int stop_fd = -1;
  std::uint64_t next_conn_id = 1;
  std::uint64_t seq = 0;
  std::int64_t armed_for_ns = -1;
  std::unordered_map<int, Conn> conns;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due;

  ~Impl() {
    for (auto& [fd, c] : conns) ::close(fd);
    for (int fd : {listen_fd, epoll_fd, timer_fd, stop_fd}) {
      if (fd >= 0) ::close(fd);
    }
  }
};

Result<std::unique_ptr<DelayServer>> DelayServer::start(DelayHandler handler, std::uint16_t port) {
  std::unique_ptr<DelayServer> s(new DelayServer());
  s->impl_ = std::make_unique<Impl>();
  Impl& m = *s->impl_;
  m.handler = std::move(handler);

  m.listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (m.listen_fd < 0) return Error::fromErrno("delay server: socket");
  const int one = 1;
  ::setsockopt(m.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(m.listen_fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return Error::fromErrno("delay server: bind 127.0.0.1:" + std::to_string(port));
  }
  if (::listen(m.listen_fd, 4096) != 0) return Error::fromErrno("delay server: listen");
  socklen_t len = sizeof addr;
  if (::getsockname(m.listen_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return Error::fromErrno("delay server: getsockname");
  }
  s->port_ = ntohs(addr.sin_port);

  m.epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (m.epoll_fd < 0) return Error::fromErrno("delay server: epoll_create1");
  m.timer_fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (m.timer_fd < 0) return Error::fromErrno("delay server: timerfd_create");
  m.stop_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (m.stop_fd < 0) return Error::fromErrno("delay server: eventfd");
  for (int fd : {m.listen_fd, m.timer_fd, m.stop_fd}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(m.epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) return Error::fromErrno("delay server: epoll_ctl");
  }
  s->thread_ = std::thread([raw = s.get()] { raw->run(); });
  return s;
}

DelayServer::~DelayServer() {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(impl_->stop_fd, &one, sizeof one);
    thread_.join();
  }
}

std::string DelayServer::url(std::string_view path) const { return "http://127.0.0.1:" + std::to_string(port_) + std::string(path); }

void DelayServer::stallFor(std::chrono::nanoseconds d) {
  const std::int64_t until = nowNs() + d.count();
  std::int64_t cur = stall_until_ns_.load();
  while (cur < until && !stall_until_ns_.compare_exchange_weak(cur, until)) {
  }
}

void DelayServer::run() {
  Impl& m = *impl_;

  auto closeConn = [&](int fd) {
    ::epoll_ctl(m.epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    m.conns.erase(fd);
  };

  auto armTimer = [&] {
    if (m.due.empty()) return;
    const std::int64_t at = std::max(m.due.top().at_ns, stall_until_ns_.load());
    if (at == m.armed_for_ns) return;
    itimerspec its{};
    its.it_value.tv_sec = at / 1'000'000'000;
    its.it_value.tv_nsec = at % 1'000'000'000;
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;  // 0 would disarm
    ::timerfd_settime(m.timer_fd, TFD_TIMER_ABSTIME, &its, nullptr);
    m.armed_for_ns = at;
  };

  // Returns false when the connection was closed.
  auto flush = [&](int fd, Impl::Conn& c) -> bool {
    while (c.out_off < c.out.size()) {
      const ssize_t n = ::send(fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_off += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!c.want_write) {
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLOUT;
          ev.data.fd = fd;
          ::epoll_ctl(m.epoll_fd, EPOLL_CTL_MOD, fd, &ev);
          c.want_write = true;
        }
        return true;
      }
      closeConn(fd);
      return false;
    }
    c.out.clear();
    c.out_off = 0;
    if (c.want_write) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      ::epoll_ctl(m.epoll_fd, EPOLL_CTL_MOD, fd, &ev);
      c.want_write = false;
    }
    return true;
  };

  // Parses at most one request from the connection's buffer and schedules its reply. Returns
  // false when the connection was closed (malformed or oversized request).
  auto parseOne = [&](int fd, Impl::Conn& c) -> bool {
    if (c.awaiting_reply || !c.out.empty()) return true;  // one request at a time, in order
    const std::size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (c.in.size() > kMaxHeaderBytes) {
        closeConn(fd);
        return false;
      }
      return true;
    }
    const std::string_view head(c.in.data(), end);
    std::size_t content_length = 0;
    bool close_after = false;
    std::size_t pos = head.find("\r\n");
    const std::string_view request_line = head.substr(0, pos);
    if (request_line.find(" HTTP/1.0") != std::string_view::npos) close_after = true;
    while (pos != std::string_view::npos) {
      const std::size_t next = head.find("\r\n", pos + 2);
      const std::string_view line = head.substr(pos + 2, next == std::string_view::npos ? std::string_view::npos : next - pos - 2);
      if (iequalsPrefix(line, "content-length:")) {
        const std::string_view v = trimView(line.substr(15));
        content_length = 0;
        for (const char ch : v) {
          if (ch < '0' || ch > '9' || content_length > (1U << 24)) {
            closeConn(fd);
            return false;
          }
          content_length = content_length * 10 + static_cast<std::size_t>(ch - '0');
        }
      } else if (iequalsPrefix(line, "connection:")) {
        const std::string_view v = trimView(line.substr(11));
        if (iequalsPrefix(v, "close")) close_after = true;
      }
      pos = next;
    }
    if (c.in.size() < end + 4 + content_length) return true;  // body still arriving
    c.head = startsWithHead(request_line);
    DelayRequest req;
    req.seq = m.seq++;
    const std::size_t sp1 = request_line.find(' ');
    const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
    req.method = request_line.substr(0, sp1);
    if (sp2 != std::string_view::npos) req.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::size_t first_eol = head.find("\r\n");
    if (first_eol != std::string_view::npos) req.header_block = head.substr(first_eol + 2);
    req.body = std::string_view(c.in).substr(end + 4, content_length);
    requests_.fetch_add(1, std::memory_order_relaxed);
    const DelayReply reply = m.handler(req);
    c.in.erase(0, end + 4 + content_length);
    c.close_after = close_after;
    c.awaiting_reply = true;
    m.due.push(Impl::Due{nowNs() + std::max<std::int64_t>(0, reply.delay.count()), fd, c.id, reply.status, reply.truncate});
    armTimer();
    return true;
  };

  auto respond = [&](const Impl::Due& d) {
    const auto it = m.conns.find(d.fd);
    if (it == m.conns.end() || it->second.id != d.conn_id) return;  // the client went away
    Impl::Conn& c = it->second;
    if (d.status <= 0) {
      closeConn(d.fd);
      return;
    }
    const char* body = d.status >= 200 && d.status < 300 ? "ok\n" : "error\n";
    const std::size_t promised = std::strlen(body) + (d.truncate ? 100 : 0);
    c.out = "HTTP/1.1 " + std::to_string(d.status) + " " + reasonPhrase(d.status) +
            "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(promised) + (c.close_after ? "\r\nConnection: close" : "") +
            "\r\n\r\n" + (c.head ? "" : body);
    if (d.truncate) c.close_after = true;
    c.out_off = 0;
    c.awaiting_reply = false;
    responses_.fetch_add(1, std::memory_order_relaxed);
    if (!flush(d.fd, c)) return;
    if (c.close_after && c.out.empty()) {
      closeConn(d.fd);
      return;
    }
    parseOne(d.fd, c);
  };

  std::vector<epoll_event> events(256);
  for (;;) {
    const int n = ::epoll_wait(m.epoll_fd, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      const std::uint32_t ev = events[static_cast<std::size_t>(i)].events;
      if (fd == m.stop_fd) return;
      if (fd == m.listen_fd) {
        for (;;) {
          const int cfd = ::accept4(m.listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (cfd < 0) break;  // EAGAIN, or EMFILE: the pending ones wait for the next round
          const int one = 1;
          ::setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = cfd;
          ::epoll_ctl(m.epoll_fd, EPOLL_CTL_ADD, cfd, &cev);
          Impl::Conn c;
          c.id = m.next_conn_id++;
          m.conns[cfd] = std::move(c);
          accepted_.fetch_add(1, std::memory_order_relaxed);
        }
        continue;
      }
      if (fd == m.timer_fd) {
        std::uint64_t expirations = 0;
        [[maybe_unused]] const auto r = ::read(m.timer_fd, &expirations, sizeof expirations);
        m.armed_for_ns = -1;
        const std::int64_t now = nowNs();
        if (now >= stall_until_ns_.load()) {
          while (!m.due.empty() && m.due.top().at_ns <= now) {
            const Impl::Due d = m.due.top();
            m.due.pop();
            respond(d);
          }
        }
        armTimer();
        continue;
      }
      auto it = m.conns.find(fd);
      if (it == m.conns.end()) continue;
      if ((ev & EPOLLOUT) != 0) {
        if (!flush(fd, it->second)) continue;
        if (it->second.out.empty() && it->second.close_after) {
          closeConn(fd);
          continue;
        }
        if (!parseOne(fd, it->second)) continue;
      }
      if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
        char buf[16384];
        bool closed = false;
        for (;;) {
          const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
          if (r > 0) {
            it->second.in.append(buf, static_cast<std::size_t>(r));
            continue;
          }
          if (r < 0 && errno == EINTR) continue;
          if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
          closeConn(fd);  // EOF or error
          closed = true;
          break;
        }
        if (!closed) parseOne(fd, it->second);
      }
    }
  }
}

}  // namespace memstrain::test_support
