// libFuzzer target: the /proc text parsers (smaps_rollup, status, meminfo, PID/stat) over arbitrary
// bytes. cgroup_parse_fuzz also feeds the three memory parsers; this target adds /proc/PID/stat, whose
// command name may hold spaces and parentheses, and checks what callers rely on.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "memstrain/proc/proc_memory.hpp"
#include "memstrain/proc/proc_stat.hpp"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace memstrain;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  for (long ticks : {100L, 1L, 0L, -1L}) {
    auto cpu = parseProcStat(text, ticks);
    if (!cpu.ok()) continue;
    check(ticks > 0);
    check(std::isfinite(cpu->user_s) && cpu->user_s >= 0 && std::isfinite(cpu->system_s) && cpu->system_s >= 0);
  }
  for (long ticks : {100L, 0L}) {
    auto start = parseProcStartAfterBoot(text, ticks);
    if (start.ok()) check(ticks > 0 && std::isfinite(*start) && *start >= 0);
  }
  // A command name that looks like more fields must not shift utime/stime: wrap the input as comm.
  const std::string wrapped = "42 (" + std::string(text) + ") S 1 1 1 0 -1 4194560 0 0 0 0 7 3 0 0 20 0 1 0 1 0 0";
  auto cpu = parseProcStat(wrapped, 100);
  check(cpu.ok() && cpu->user_s == 0.07 && cpu->system_s == 0.03);
  auto start = parseProcStartAfterBoot(wrapped, 100);
  check(start.ok() && *start == 0.01);

  // Each memory parser succeeds only when the line it documents as required is there.
  if (parseSmapsRollup(text).ok()) check(text.find("Rss") != std::string_view::npos);
  if (parseProcStatus(text).ok()) check(text.find("VmRSS") != std::string_view::npos);
  if (parseMeminfo(text).ok()) check(text.find("MemTotal") != std::string_view::npos);
  return 0;
}
