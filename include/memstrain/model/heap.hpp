#pragma once
// The Go runtime as memstrain reads it through pprof: MemStats readings, failed requests and saved
// heap profiles. Plain data; the pprof observer fills it, analysis and reports read it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

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

/// One MemStats reading, on the same clock as the cgroup samples.
struct MemStatsSample {
  double t_s = 0;
  std::int64_t wall_ms = 0;
  std::size_t stage = 0;
  GoMemStats stats;
  std::optional<std::uint64_t> goroutines;
};

/// A failed pprof request: reported, never fatal.
struct PprofFailure {
  double t_s = 0;
  std::size_t stage = 0;
  std::string endpoint;  ///< "memstats", "goroutine", "heap"
  std::string kind;      ///< pprofErrorKindName()
  std::string message;
};

/// A heap profile saved to disk.
struct ProfileSnapshot {
  double t_s = 0;
  std::size_t stage = 0;
  std::string reason;  ///< "stage_end" or "growth"
  std::string path;
};

}  // namespace memstrain
