// The machine's floor for scheduling lag: a thread that does nothing but sleep until each
// millisecond deadline (clock_nanosleep, absolute, 1 µs timer slack like the probe) and measures
// how late it wakes. The probe cannot send more punctually than this; the benchmark prints it next
// to the probe's own lag so that a noisy VM is not mistaken for a slow probe.
//
//   timer_floor SECONDS   -> one JSON line {"p50_us":..,"p90_us":..,"p99_us":..,"p999_us":..,"max_us":..}

#include <sys/prctl.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

std::int64_t nowNs() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

}  // namespace

int main(int argc, char** argv) {
  const long seconds = argc > 1 ? std::stol(argv[1]) : 10;
  prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
  std::vector<std::int64_t> lag_ns;
  lag_ns.reserve(static_cast<std::size_t>(seconds) * 1000);
  const std::int64_t t0 = nowNs();
  for (std::int64_t i = 1; i <= seconds * 1000; ++i) {
    const std::int64_t due = t0 + i * 1'000'000;
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(due / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(due % 1'000'000'000);
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    lag_ns.push_back(nowNs() - due);
  }
  std::sort(lag_ns.begin(), lag_ns.end());
  auto us = [&](double q) {
    return static_cast<double>(lag_ns[static_cast<std::size_t>(q * static_cast<double>(lag_ns.size() - 1))]) / 1e3;
  };
  std::printf("{\"p50_us\":%.0f,\"p90_us\":%.0f,\"p99_us\":%.0f,\"p999_us\":%.0f,\"max_us\":%.0f}\n", us(0.5), us(0.9), us(0.99), us(0.999),
              us(1.0));
  return 0;
}
