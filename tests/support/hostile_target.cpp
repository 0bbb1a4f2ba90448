#include "support/hostile_target.hpp"

#include <cstdint>
#include <limits>
#include <string_view>

#include "profile.pb.h"
#include "support/gzip.hpp"

namespace memstrain::testing {
namespace {

using namespace std::string_literals;
using std::chrono::milliseconds;

constexpr std::array<const char*, kHostileEndpoints> kPaths = {
    "/healthz", "/work", "/debug/pprof/heap?debug=1", "/debug/pprof/heap", "/debug/pprof/goroutine?debug=1", "/grow?mib=1", "/debug/free"};

// Bytes that are not UTF-8 (the issue's reproduction), a NUL, a terminal escape and a C1 CSI.
const std::string kBrokenBytes = "\xff\xfe\xc3 broken \x80\x81 utf8 \xe2\x82\0nul \x1b[2J \xc2\x9b"s;

std::string healthyMemStats(std::string_view heap_objects = "2439", std::string_view heap_inuse = "8216576") {
  return "heap profile: 3: 1024 [60: 9000] @ heap/524288\n"
         "1: 512 [20: 3000] @ 0x1 0x2\n"
         "#\t0x1\tmain.leak+0x1\t/src/main.go:10\n\n"
         "# runtime.MemStats\n"
         "# Alloc = 4194304\n# TotalAlloc = 9000000\n# Sys = 13000000\n# Lookups = 0\n# Mallocs = 20000\n# Frees = 17561\n"
         "# HeapAlloc = 4194304\n# HeapSys = 11763712\n# HeapIdle = 3547136\n# HeapInuse = " +
         std::string(heap_inuse) + "\n# HeapReleased = 2000000\n# HeapObjects = " + std::string(heap_objects) +
         "\n# Stack = 524288 / 524288\n# NextGC = 4473924\n# LastGC = 1700000000000000000\n"
         "# PauseNs = [12000 13000 0 0]\n# PauseEnd = [0 0]\n# NumGC = 2\n# NumForcedGC = 0\n# GCCPUFraction = 0.0012\n"
         "# DebugGC = false\n# MaxRSS = 20000000\n";
}

// A heap profile with the given (inuse_objects, inuse_space) samples, gzipped as Go sends it.
std::string heapProfile(const std::vector<std::pair<std::int64_t, std::int64_t>>& samples) {
  namespace pb = perftools::profiles;
  pb::Profile p;
  for (const char* s : {"", "inuse_objects", "count", "inuse_space", "bytes", "main.leak", "space"}) p.add_string_table(s);
  auto* objects = p.add_sample_type();
  objects->set_type(1);
  objects->set_unit(2);
  auto* space = p.add_sample_type();
  space->set_type(3);
  space->set_unit(4);
  p.mutable_period_type()->set_type(6);
  p.mutable_period_type()->set_unit(4);
  p.set_period(524288);
  auto* f = p.add_function();
  f->set_id(1);
  f->set_name(5);
  auto* l = p.add_location();
  l->set_id(1);
  l->add_line()->set_function_id(1);
  for (const auto& [n, bytes] : samples) {
    auto* s = p.add_sample();
    s->add_location_id(1);
    s->add_value(n);
    s->add_value(bytes);
  }
  return gzip(p.SerializeAsString());
}

const std::string& healthyHeap() {
  static const std::string gz = heapProfile({{42, 42 * 1024}});
  return gz;
}

const std::string& absurdHeap() {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  static const std::string gz = heapProfile({{kMax, kMax}, {kMax, kMax}, {-5, -4096}, {kMin, kMin}, {1, kMax}});
  return gz;
}

const std::string& gzipBomb() {
  static const std::string gz = gzip(std::string(64 << 20, '\0'));
  return gz;
}

std::string healthyBody(HostileEndpoint e) {
  switch (e) {
    case HostileEndpoint::kHeapDebug: return healthyMemStats();
    case HostileEndpoint::kHeap: return healthyHeap();
    case HostileEndpoint::kGoroutineDebug: return "goroutine profile: total 9\n1 @ 0x1\n#\t0x1\tmain.main+0x1\t/src/main.go:5\n\n";
    default: return "ok\n";
  }
}

const char* contentTypeOf(HostileEndpoint e) {
  return e == HostileEndpoint::kHeap ? "application/octet-stream" : "text/plain; charset=utf-8";
}

// Well-formed, absurd: counts at 2^63 and 2^64-1, negative sizes.
std::string absurdBody(HostileEndpoint e, bool odd) {
  switch (e) {
    case HostileEndpoint::kHeapDebug: {
      if (!odd) return healthyMemStats("2439", "-4096");  // a negative size
      std::string page = healthyMemStats("18446744073709551615", "9223372036854775808");
      for (const char* key : {"HeapAlloc", "HeapSys", "HeapIdle", "HeapReleased", "Sys", "NextGC", "NumGC", "LastGC"}) {
        const std::string k = "# "s + key + " = ";
        const auto at = page.find(k);
        const auto eol = page.find('\n', at);
        page.replace(at + k.size(), eol - at - k.size(), "18446744073709551615");
      }
      const auto at = page.find("# GCCPUFraction = ");
      page.replace(at, page.find('\n', at) - at, "# GCCPUFraction = 1e308");
      const auto pause = page.find("# PauseNs = ");
      page.replace(pause, page.find('\n', pause) - pause, "# PauseNs = [18446744073709551615 18446744073709551615 9223372036854775808]");
      return page;
    }
    case HostileEndpoint::kHeap: return absurdHeap();
    case HostileEndpoint::kGoroutineDebug: return odd ? "goroutine profile: total 18446744073709551615\n" : "goroutine profile: total -3\n";
    default:
      return R"({"count": 9223372036854775808, "objects": 18446744073709551615, "size": -1, "ratio": 1e308})"
             "\n";
  }
}

}  // namespace

const char* toString(HostileEndpoint e) {
  switch (e) {
    case HostileEndpoint::kReady: return "ready";
    case HostileEndpoint::kProbe: return "probe";
    case HostileEndpoint::kHeapDebug: return "heap_debug";
    case HostileEndpoint::kHeap: return "heap";
    case HostileEndpoint::kGoroutineDebug: return "goroutine_debug";
    case HostileEndpoint::kAction: return "action";
    case HostileEndpoint::kTrigger: return "trigger";
  }
  return "?";
}

const char* toString(Misbehaviour m) {
  switch (m) {
    case Misbehaviour::kHealthy: return "healthy";
    case Misbehaviour::kNonUtf8Body: return "non_utf8_body";
    case Misbehaviour::kHostileHeaders: return "hostile_headers";
    case Misbehaviour::kHugeHeader: return "huge_header";
    case Misbehaviour::kEndlessChunked: return "endless_chunked";
    case Misbehaviour::kSlowLoris: return "slow_loris";
    case Misbehaviour::kResetMidBody: return "reset_mid_body";
    case Misbehaviour::kGzipGarbage: return "gzip_garbage";
    case Misbehaviour::kGzipBomb: return "gzip_bomb";
    case Misbehaviour::kAbsurdValues: return "absurd_values";
    case Misbehaviour::kInformationalOnly: return "informational_only";
    case Misbehaviour::kRedirect: return "redirect";
    case Misbehaviour::kNoContent: return "no_content";
  }
  return "?";
}

HostileTarget::HostileTarget() : server_([this](const TestHttpRequest& req, ResponseWriter& w) { handle(req, w); }) {
  mode_.fill(Misbehaviour::kHealthy);
  (void)gzipBomb();  // built once, before any client's clock runs
  (void)absurdHeap();
  (void)healthyHeap();
}

HostileTarget::~HostileTarget() { server_.stop(); }

void HostileTarget::set(HostileEndpoint e, Misbehaviour m) {
  std::lock_guard<std::mutex> lock(mu_);
  mode_[static_cast<std::size_t>(e)] = m;
}

void HostileTarget::setAllButReady(Misbehaviour m) {
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t i = 0; i < kHostileEndpoints; ++i) {
    if (static_cast<HostileEndpoint>(i) != HostileEndpoint::kReady) mode_[i] = m;
  }
}

std::string HostileTarget::url(HostileEndpoint e) const { return server_.url(kPaths[static_cast<std::size_t>(e)]); }

std::size_t HostileTarget::requests(HostileEndpoint e) const { return count_[static_cast<std::size_t>(e)].load(); }

void HostileTarget::handle(const TestHttpRequest& req, ResponseWriter& w) {
  HostileEndpoint e;
  if (req.path == "/healthz") {
    e = HostileEndpoint::kReady;
  } else if (req.path == "/work") {
    e = HostileEndpoint::kProbe;
  } else if (req.path == "/debug/pprof/heap") {
    e = req.query.find("debug=1") != std::string::npos ? HostileEndpoint::kHeapDebug : HostileEndpoint::kHeap;
  } else if (req.path == "/debug/pprof/goroutine") {
    e = HostileEndpoint::kGoroutineDebug;
  } else if (req.path == "/grow") {
    e = HostileEndpoint::kAction;
  } else if (req.path == "/debug/free") {
    e = HostileEndpoint::kTrigger;
  } else {
    w.respond(404, "404 page not found\n");
    return;
  }
  const std::size_t n = count_[static_cast<std::size_t>(e)].fetch_add(1);
  // Readiness is polled until it answers 2xx: alternating would hand it a good answer on the
  // second try. It always gets the first (failing) form.
  const bool odd = n % 2 == 1 && e != HostileEndpoint::kReady;
  Misbehaviour m;
  {
    std::lock_guard<std::mutex> lock(mu_);
    m = mode_[static_cast<std::size_t>(e)];
  }
  const std::string body = healthyBody(e);
  const char* type = contentTypeOf(e);
  switch (m) {
    case Misbehaviour::kHealthy: w.respond(200, body, type); return;
    case Misbehaviour::kNonUtf8Body: {
      // Even: an error page (the issue's crash). Odd: a 200 whose page has the bytes where a value
      // or a protobuf should be.
      if (!odd) {
        w.respond(500, kBrokenBytes + "\n");
      } else if (e == HostileEndpoint::kHeapDebug) {
        w.respond(200, healthyMemStats(kBrokenBytes, "8216576"), type);
      } else if (e == HostileEndpoint::kGoroutineDebug) {
        w.respond(200, "goroutine profile: total " + kBrokenBytes + "\n", type);
      } else {
        w.respond(200, kBrokenBytes, type);
      }
      return;
    }
    case Misbehaviour::kHostileHeaders: {
      std::vector<std::string> headers = {"X-Broken: " + kBrokenBytes.substr(0, 14) + " \x1b]0;title\x07", "Set-Cookie: \x80\x81=\xfe"};
      if (!odd) headers.push_back("X-Nul: a"s + '\0' + "b");
      w.respond(200, body, "text/plain; charset=\xff\xfe", headers);
      return;
    }
    case Misbehaviour::kHugeHeader: w.respond(200, body, type, {"X-Huge: " + std::string(1 << 20, 'h')}); return;
    case Misbehaviour::kEndlessChunked: {
      if (!w.writeRaw("HTTP/1.1 200 OK\r\nContent-Type: "s + type + "\r\nTransfer-Encoding: chunked\r\n\r\n")) return;
      w.endlessBody("4000\r\n" + std::string(0x4000, 'c') + "\r\n");
      return;
    }
    case Misbehaviour::kSlowLoris: w.trickle("HTTP/1.1 200 OK\r\nX-Slow: " + std::string(4000, 's'), milliseconds(50)); return;
    case Misbehaviour::kResetMidBody: {
      if (!w.sendHead(200, 1 << 20, type)) return;
      w.writeRaw(body.substr(0, body.size() / 2) + std::string(64 * 1024, 'r'));
      w.sleepFor(milliseconds(10));
      w.reset();
      return;
    }
    case Misbehaviour::kGzipGarbage:
      w.respond(200, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"s + kBrokenBytes + std::string(100, '\x5a'), type,
                {"Content-Encoding: gzip"});
      return;
    case Misbehaviour::kGzipBomb: w.respond(200, gzipBomb(), type, {"Content-Encoding: gzip"}); return;
    case Misbehaviour::kAbsurdValues: {
      const std::string absurd = absurdBody(e, odd);
      if (odd && e != HostileEndpoint::kHeapDebug && e != HostileEndpoint::kHeap && e != HostileEndpoint::kGoroutineDebug) {
        // An absurd length: 2^63-1 bytes announced, a few sent, then the end of the connection.
        w.writeRaw("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9223372036854775807\r\n\r\n" + absurd);
        return;
      }
      w.respond(200, absurd, type);
      return;
    }
    case Misbehaviour::kInformationalOnly:
      w.writeRaw("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n");
      w.close();
      return;
    case Misbehaviour::kRedirect:
      if (!odd) {
        w.respond(302, "", type, {"Location: http://127.0.0.1:1/elsewhere"});
      } else {
        w.respond(301, "", type, {"Location: " + server_.url(req.target)});
      }
      return;
    case Misbehaviour::kNoContent: w.writeRaw("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"); return;
  }
}

}  // namespace memstrain::testing
