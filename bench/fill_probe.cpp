// Helper of bench/fill_bench.sh, two modes:
//
//   fill_probe watch USAGE_FILE LO_BYTES HI_BYTES TIMEOUT_S
//     Polls a cgroup usage file (v1 memory.usage_in_bytes / v2 memory.current) every 0.5 ms from
//     now; the usage when it starts is the baseline. Prints one JSON line with the seconds between
//     usage first reaching baseline + LO and baseline + HI ("hi_s" - "lo_s"), or "null" when HI was
//     not reached within TIMEOUT_S. Same clock and same file for every tool benchmarked.
//
//   fill_probe populate BYTES THREADS
//     The reference limit: maps BYTES and faults them in with MADV_POPULATE_WRITE from THREADS
//     threads, each its own chunk. Prints {"bytes":..,"threads":..,"s":..,"bytes_per_s":..}.
//     Run it inside a memory cgroup so that charging costs what it costs the tools.

#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace {

double now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

bool readUsage(int fd, std::uint64_t& out) {
  char buf[64];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return false;
  buf[n] = 0;
  out = std::strtoull(buf, nullptr, 10);
  return true;
}

int watch(const char* file, std::uint64_t lo, std::uint64_t hi, double timeout_s) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "fill_probe: open %s: %s\n", file, std::strerror(errno));
    return 1;
  }
  std::uint64_t base = 0;
  if (!readUsage(fd, base)) return 1;
  double lo_t = -1, hi_t = -1;
  std::uint64_t peak = base;
  const double end = now() + timeout_s;
  timespec pause{0, 500000};
  while (now() < end) {
    std::uint64_t u = 0;
    if (!readUsage(fd, u)) break;  // the cgroup went away
    peak = u > peak ? u : peak;
    const double t = now();
    if (lo_t < 0 && u >= base + lo) lo_t = t;
    if (hi_t < 0 && u >= base + hi) {
      hi_t = t;
      break;
    }
    nanosleep(&pause, nullptr);
  }
  if (hi_t < 0 || lo_t < 0) {
    std::printf("{\"fill_s\": null, \"base_bytes\": %llu, \"peak_bytes\": %llu}\n", static_cast<unsigned long long>(base),
                static_cast<unsigned long long>(peak));
  } else {
    std::printf("{\"fill_s\": %.4f, \"base_bytes\": %llu}\n", hi_t - lo_t, static_cast<unsigned long long>(base));
  }
  return 0;
}

int populate(std::uint64_t bytes, unsigned threads) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return 1;
  char* base = static_cast<char*>(p);
  const std::uint64_t page = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  const std::uint64_t pages = bytes / page;
  std::vector<int> errs(threads, 0);
  auto work = [&](unsigned i) {
    const std::uint64_t a = pages * i / threads * page, b = pages * (i + 1) / threads * page;
    if (madvise(base + a, b - a, MADV_POPULATE_WRITE) != 0) errs[i] = errno;
  };
  const double t0 = now();
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back(work, i);
  work(0);
  for (auto& t : pool) t.join();
  const double s = now() - t0;
  for (int e : errs) {
    if (e != 0) {
      std::fprintf(stderr, "fill_probe: MADV_POPULATE_WRITE: %s\n", std::strerror(e));
      return 1;
    }
  }
  std::printf("{\"bytes\": %llu, \"threads\": %u, \"s\": %.4f, \"bytes_per_s\": %.0f}\n", static_cast<unsigned long long>(bytes), threads,
              s, static_cast<double>(bytes) / s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 6 && std::string(argv[1]) == "watch") {
    return watch(argv[2], std::strtoull(argv[3], nullptr, 10), std::strtoull(argv[4], nullptr, 10), std::atof(argv[5]));
  }
  if (argc == 4 && std::string(argv[1]) == "populate") {
    return populate(std::strtoull(argv[2], nullptr, 10), static_cast<unsigned>(std::atoi(argv[3])));
  }
  std::fprintf(stderr, "usage: fill_probe watch USAGE_FILE LO_BYTES HI_BYTES TIMEOUT_S | fill_probe populate BYTES THREADS\n");
  return 2;
}
