// Benchmark driver for the latency probe, independent of the memstrain CLI: runs one probe for a
// fixed time, takes a window every second (as the executor does), merges them, and prints one
// JSON object with the figures and the CPU the process used.
//
//   probe_driver --url http://127.0.0.1:PORT/ --rate 1000 --duration-s 60
//                [--timeout-ms 2000] [--concurrency N] [--max-in-flight N] [--name NAME]
//
// Exit status: 0 on success, 2 on bad arguments or a probe that does not start.

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "memstrain/observers/latency_probe.hpp"
#include "memstrain/util/text.hpp"

namespace {

using memstrain::Histogram;

double cpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

nlohmann::json percentilesMs(const Histogram& h) {
  auto ms = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e6; };
  return {{"count", h.count()},
          {"mean", h.mean() / 1e6},
          {"p50", ms(h.valueAtPercentile(50))},
          {"p90", ms(h.valueAtPercentile(90))},
          {"p99", ms(h.valueAtPercentile(99))},
          {"p999", ms(h.valueAtPercentile(99.9))},
          {"max", ms(h.max())}};
}

int usage(const char* why) {
  std::fprintf(stderr,
               "probe_driver: %s\nusage: probe_driver --url URL --rate N --duration-s N "
               "[--timeout-ms N] [--concurrency N] [--max-in-flight N] [--name NAME]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  memstrain::ProbeSpec cfg;
  cfg.name = "bench";
  cfg.timeout = std::chrono::milliseconds(2000);
  std::uint64_t duration_s = 10;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage(("missing value for " + arg).c_str());
    const std::string value = argv[++i];
    const auto num = memstrain::parseUint64(value);
    if (arg == "--url") {
      cfg.url = value;
    } else if (arg == "--name") {
      cfg.name = value;
    } else if (arg == "--rate") {
      const auto r = memstrain::parseDouble(value);
      if (!r) return usage("--rate: expected a number");
      cfg.rate_per_s = *r;
    } else if (!num) {
      return usage((arg + ": expected a whole number or an unknown option").c_str());
    } else if (arg == "--duration-s") {
      duration_s = *num;
    } else if (arg == "--timeout-ms") {
      cfg.timeout = std::chrono::milliseconds(*num);
    } else if (arg == "--concurrency") {
      cfg.concurrency = *num;
    } else if (arg == "--max-in-flight") {
      cfg.max_in_flight = *num;
    } else {
      return usage(("unknown option " + arg).c_str());
    }
  }

  // Each outstanding request may hold a socket; after a stall that can be max_in_flight of them.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }

  memstrain::LatencyProbe probe(cfg);
  const double cpu0 = cpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  if (const memstrain::Status s = probe.start(); !s.ok()) return usage(s.error().message.c_str());

  memstrain::ProbeStats total;
  std::uint64_t worst_second_missed = 0;
  for (std::uint64_t sec = 1; sec <= duration_s; ++sec) {
    std::this_thread::sleep_until(t0 + std::chrono::seconds(sec));
    memstrain::ProbeWindow w = probe.takeWindow();
    worst_second_missed = std::max(worst_second_missed, w.missed);
    // The per-second time series, as the executor would keep it, on stderr for diagnosis.
    std::fprintf(stderr, "t=%llus sent=%llu missed=%llu lag_p99_us=%.0f lag_max_us=%.0f corrected_p99_ms=%.2f cpu_ms=%.1f\n",
                 static_cast<unsigned long long>(sec), static_cast<unsigned long long>(w.sent), static_cast<unsigned long long>(w.missed),
                 static_cast<double>(w.sched_lag.valueAtPercentile(99)) / 1e3, static_cast<double>(w.sched_lag.max()) / 1e3,
                 static_cast<double>(w.corrected.valueAtPercentile(99)) / 1e6,
                 std::chrono::duration<double, std::milli>(w.probe_cpu).count());
    total.merge(w);
  }
  probe.stop();
  total.merge(probe.takeWindow());
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpuSeconds() - cpu0;

  const nlohmann::json out = {
      {"name", cfg.name},
      {"rate_per_s", cfg.rate_per_s},
      {"duration_s", duration_s},
      {"concurrency", cfg.concurrency},
      {"wall_s", wall},
      {"sent", total.sent},
      {"achieved_rate", static_cast<double>(total.completed) / total.seconds()},
      {"missed", total.missed},
      {"completed", total.completed},
      {"ok", total.ok},
      {"errors",
       {{"timeout", total.errors.timeout},
        {"connect", total.errors.connect},
        {"http_status", total.errors.http_status},
        {"other", total.errors.other}}},
      {"cancelled", total.cancelled},
      {"corrected_ms", percentilesMs(total.corrected)},
      {"uncorrected_ms", percentilesMs(total.uncorrected)},
      {"sched_lag_ms", percentilesMs(total.sched_lag)},
      {"probe_thread_cpu_s", std::chrono::duration<double>(total.probe_cpu).count()},
      {"process_cpu_s", cpu},
      {"process_cpu_pct_of_core", 100.0 * cpu / wall},
  };
  std::cout << out.dump() << std::endl;
  return 0;
}
