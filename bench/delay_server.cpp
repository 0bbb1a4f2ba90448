// Loopback HTTP server for the probe benchmark: every response is delayed by a uniformly random
// time in [min, max], and SIGUSR1 freezes the server for a fixed time (a 1 s stall, say), the way a
// long pause freezes a Go service. Wraps tests/support/delay_server.
//
//   delay_server [--port N] [--delay-us MIN[:MAX]] [--stall-ms N]
//
// Prints "listening PORT" on stdout once ready; SIGTERM or SIGINT stop it and it prints the number
// of requests served on stderr.

#include <signal.h>

#include <cstdio>
#include <random>
#include <string>

#include "memstrain/util/text.hpp"
#include "support/delay_server.hpp"

int main(int argc, char** argv) {
  std::uint64_t port = 0, min_us = 1000, max_us = 1000, stall_ms = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    const std::string value = argv[i + 1];
    if (arg == "--port") {
      port = memstrain::parseUint64(value).value_or(0);
    } else if (arg == "--stall-ms") {
      stall_ms = memstrain::parseUint64(value).value_or(1000);
    } else if (arg == "--delay-us") {
      const auto colon = value.find(':');
      min_us = memstrain::parseUint64(value.substr(0, colon)).value_or(0);
      max_us = colon == std::string::npos ? min_us : memstrain::parseUint64(value.substr(colon + 1)).value_or(min_us);
    } else {
      std::fprintf(stderr, "delay_server: unknown option %s\n", arg.c_str());
      return 2;
    }
  }
  if (max_us < min_us || port > 65535) {
    std::fprintf(stderr, "delay_server: bad --delay-us or --port\n");
    return 2;
  }

  // Block the signals in every thread; this one takes them with sigwait.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<std::uint64_t> delay_us(min_us, max_us);
  auto server = memstrain::test_support::DelayServer::start(
      [&](const memstrain::test_support::DelayRequest&) {
        return memstrain::test_support::DelayReply{std::chrono::microseconds(delay_us(rng)), 200};
      },
      static_cast<std::uint16_t>(port));
  if (!server.ok()) {
    std::fprintf(stderr, "delay_server: %s\n", server.error().message.c_str());
    return 1;
  }
  std::printf("listening %u\n", static_cast<unsigned>((*server)->port()));
  std::fflush(stdout);

  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGUSR1) {
      (*server)->stallFor(std::chrono::milliseconds(stall_ms));
      continue;
    }
    break;
  }
  std::fprintf(stderr, "delay_server: served %llu requests on %llu connections\n",
               static_cast<unsigned long long>((*server)->responsesSent()),
               static_cast<unsigned long long>((*server)->connectionsAccepted()));
  return 0;
}
