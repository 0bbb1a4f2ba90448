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

/// Objects and bytes still reachable, read from MemStats right after a GC the reading forced
/// (GET heap?gc=1&debug=1: runtime.GC() completes marking and sweeping before ReadMemStats, so
/// HeapObjects/HeapAlloc then count live objects, plus what the target allocated in the
/// milliseconds between the GC and the read). Requests in flight hold their garbage while they
/// run, so one reading is the lowest of a few back-to-back ones (see PprofObserver::Options).
struct LiveHeapReading {
  double t_s = 0;  ///< when the chosen reading's response arrived, run clock
  std::size_t stage = 0;
  /// "start" (before the first stage), "stage_end" (the end of `stage`, which is also the start
  /// of the next) or "interval" (pprof.live_interval, during `stage`).
  std::string kind;
  std::uint64_t objects = 0;  ///< HeapObjects after the forced GC
  std::uint64_t bytes = 0;    ///< HeapAlloc after the forced GC
  std::uint32_t tries = 0;    ///< forced GCs this reading took the lowest of
  double request_ms = 0;      ///< the chosen request's time (GC included), as memstrain saw it
};

/// A failed pprof request: reported, never fatal.
struct PprofFailure {
  double t_s = 0;
  std::size_t stage = 0;
  std::string endpoint;  ///< "memstats", "goroutine", "heap", "heap_live"
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
