// libFuzzer target: arbitrary text as a heap?debug=1 or goroutine?debug=1 page.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "memstrain/pprof/memstats_parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view page(reinterpret_cast<const char*>(data), size);
  auto stats = memstrain::parseMemStats(page);
  if (stats.ok() && stats->pause_total_is_partial && stats->num_gc <= 256) __builtin_trap();
  if (stats.ok() && stats->last_gc_unix_ns && page.find("LastGC") == std::string_view::npos) __builtin_trap();
  (void)memstrain::parseGoroutineTotal(page);
  return 0;
}
