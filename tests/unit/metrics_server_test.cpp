// The /metrics server: a real socket on loopback, fetched with the same libcurl client memstrain
// uses, plus the request handling as a pure function and hostile clients on raw sockets.

#include "memstrain/report/metrics_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>

#include "memstrain/observers/http_client.hpp"

namespace memstrain {
namespace {

using namespace std::chrono_literals;

TEST(MetricsServer, ListenAddresses) {
  EXPECT_EQ(*parseListenAddress("127.0.0.1:9464"), std::make_pair(std::string("127.0.0.1"), std::uint16_t{9464}));
  EXPECT_EQ(*parseListenAddress("[::1]:9464"), std::make_pair(std::string("::1"), std::uint16_t{9464}));
  EXPECT_EQ(*parseListenAddress(":9464"), std::make_pair(std::string(""), std::uint16_t{9464}));
  EXPECT_EQ(*parseListenAddress("localhost:0"), std::make_pair(std::string("localhost"), std::uint16_t{0}));
  for (const char* bad : {"9464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "::1:9464", "[::1:9464", "host:port"}) {
    auto r = parseListenAddress(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("expected HOST:PORT"), std::string::npos) << r.error().message;
  }
}

TEST(MetricsServer, RequestsAndAnswers) {
  auto render = [] { return std::string("m 1\n"); };
  const std::string ok = metricsHttpResponse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", render);
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << ok;
  EXPECT_NE(ok.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), std::string::npos) << ok;
  EXPECT_NE(ok.find("Content-Length: 4\r\n"), std::string::npos) << ok;
  EXPECT_EQ(ok.substr(ok.size() - 4), "m 1\n");
  EXPECT_EQ(metricsHttpResponse("GET /metrics?x=1 HTTP/1.0\r\n\r\n", render).rfind("HTTP/1.1 200", 0), 0U);
  const std::string head = metricsHttpResponse("HEAD /metrics HTTP/1.1\r\n\r\n", render);
  EXPECT_NE(head.find("Content-Length: 4\r\n"), std::string::npos);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n") << "HEAD has no body";
  EXPECT_EQ(metricsHttpResponse("GET /other HTTP/1.1\r\n\r\n", render).rfind("HTTP/1.1 404", 0), 0U);
  const std::string post = metricsHttpResponse("POST /metrics HTTP/1.1\r\n\r\n", render);
  EXPECT_EQ(post.rfind("HTTP/1.1 405", 0), 0U);
  EXPECT_NE(post.find("Allow: GET, HEAD\r\n"), std::string::npos);
  EXPECT_EQ(metricsHttpResponse("garbage\r\n\r\n", render).rfind("HTTP/1.1 400", 0), 0U);
  EXPECT_EQ(metricsHttpResponse("", render).rfind("HTTP/1.1 400", 0), 0U);
}

TEST(MetricsServer, ServesMetricsOverRealHttp) {
  std::atomic<int> renders{0};
  auto server = MetricsServer::start("127.0.0.1:0", [&] {
    ++renders;
    return std::string("# TYPE memstrain_x gauge\nmemstrain_x 42\n");
  });
  ASSERT_TRUE(server.ok()) << server.error().message;
  ASSERT_GT((*server)->port(), 0);
  EXPECT_EQ((*server)->address(), "127.0.0.1:" + std::to_string((*server)->port()));
  HttpClient client;
  const std::string base = "http://" + (*server)->address();
  for (int i = 0; i < 3; ++i) {
    auto r = client.get(base + "/metrics");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r.value().body, "# TYPE memstrain_x gauge\nmemstrain_x 42\n");
    EXPECT_EQ(r.value().content_type, "text/plain; version=0.0.4; charset=utf-8");
  }
  EXPECT_EQ(renders.load(), 3);
  auto missing = client.get(base + "/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().status, 404);
  EXPECT_EQ((*server)->requests(), 4U);

  // The same port cannot be bound twice: a clear error, not a second server.
  auto again = MetricsServer::start((*server)->address(), [] { return std::string(); });
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("bind"), std::string::npos) << again.error().message;
}

// A client that sends an endless header or nothing at all costs the server at most its 2 s
// deadline; the next client is served.
TEST(MetricsServer, HostileClientsDoNotStopIt) {
  auto server = MetricsServer::start("127.0.0.1:0", [] { return std::string("ok 1\n"); });
  ASSERT_TRUE(server.ok()) << server.error().message;
  auto connectRaw = [&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons((*server)->port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  };
  const int flood = connectRaw();
  const std::string big(16384, 'A');
  (void)!::send(flood, ("GET /metrics HTTP/1.1\r\nX: " + big).data(), 16384 + 26, MSG_NOSIGNAL);
  char buf[512] = {};
  timeval tv{5, 0};
  ::setsockopt(flood, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const ssize_t n = ::recv(flood, buf, sizeof buf - 1, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf).rfind("HTTP/1.1 431", 0), 0U) << buf;
  ::close(flood);

  const int silent = connectRaw();  // says nothing; the server gives up on it after 2 s
  HttpOptions o;
  o.total_timeout = 10s;
  HttpClient client(o);
  auto r = client.get("http://" + (*server)->address() + "/metrics");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().body, "ok 1\n");
  ::close(silent);
}

TEST(MetricsServer, RefusesAnAddressItCannotBind) {
  auto r = MetricsServer::start("203.0.113.7:9464", [] { return std::string(); });  // TEST-NET-3: not ours
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("--metrics-addr 203.0.113.7:9464"), std::string::npos) << r.error().message;
  EXPECT_FALSE(MetricsServer::start("nonsense", [] { return std::string(); }).ok());
}

}  // namespace
}  // namespace memstrain
