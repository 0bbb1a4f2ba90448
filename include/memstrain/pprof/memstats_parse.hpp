#pragma once
// Parsing of the Go runtime's text profiles: the "# runtime.MemStats" trailer of
// /debug/pprof/heap?debug=1 and the "goroutine profile: total N" header of
// /debug/pprof/goroutine?debug=1. Pure functions over untrusted text; no I/O, nothing throws.

#include <cstdint>
#include <optional>
#include <string_view>

#include "memstrain/util/result.hpp"

namespace memstrain {

/// A runtime.MemStats snapshot as printed by runtime/pprof (Go 1.19 and later print the same keys).
/// Byte counts are in bytes, times in nanoseconds.
struct GoMemStats {
  std::uint64_t heap_objects = 0;
  std::uint64_t heap_alloc_bytes = 0;
  std::uint64_t heap_inuse_bytes = 0;
  std::uint64_t heap_idle_bytes = 0;
  std::uint64_t heap_released_bytes = 0;
  std::uint64_t heap_sys_bytes = 0;
  std::uint64_t sys_bytes = 0;
  std::uint64_t next_gc_bytes = 0;
  std::uint64_t num_gc = 0;
  /// "PauseTotalNs" when the page has it; Go's page does not, so otherwise the sum of the
  /// "PauseNs" ring buffer (the last 256 pauses; see pause_total_is_partial).
  std::uint64_t pause_total_ns = 0;
  /// True when pause_total_ns was summed from PauseNs while NumGC > 256: the ring buffer has
  /// dropped older pauses, so the sum is a lower bound.
  bool pause_total_is_partial = false;
  /// Go's GCCPUFraction: GC CPU time over GOMAXPROCS × time since the runtime started, as of the
  /// end of the last GC (the runtime updates it only then).
  double gc_cpu_fraction = 0.0;
  /// "LastGC": when the last GC ended, Unix ns (0 before the first GC); absent on pages without it.
  std::optional<std::uint64_t> last_gc_unix_ns;
  /// "# MaxRSS" (bytes), printed only on platforms with getrusage.
  std::optional<std::uint64_t> max_rss_bytes;
};

/// Parses the "# runtime.MemStats" block of a heap?debug=1 page. Every field of GoMemStats except
/// pause_total_ns and max_rss_bytes is required. Returns an Error when the block is absent, a
/// required key is missing, or a value is not a number (the Error names the key and line).
/// Unknown keys are ignored, so newer Go versions still parse.
Result<GoMemStats> parseMemStats(std::string_view page);

/// Parses "goroutine profile: total N" from the first line of a goroutine?debug=1 page.
/// Returns an Error when that line is missing or N is not a number.
Result<std::uint64_t> parseGoroutineTotal(std::string_view page);

}  // namespace memstrain
