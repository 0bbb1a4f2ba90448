#include "memstrain/pprof/memstats_parse.hpp"

#include <array>
#include <limits>
#include <string>

#include "memstrain/util/text.hpp"

namespace memstrain {
namespace {

constexpr std::string_view kMemStatsHeader = "# runtime.MemStats";
constexpr std::string_view kGoroutineHeader = "goroutine profile: total ";
// Size of runtime.MemStats.PauseNs, the ring buffer of recent pause times.
constexpr std::uint64_t kPauseRingSize = 256;

// Sums "[1 2 3]" (Go's %d of a [256]uint64), saturating rather than wrapping.
std::optional<std::uint64_t> sumUintArray(std::string_view text) {
  text = trim(text);
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') return std::nullopt;
  std::uint64_t sum = 0;
  for (std::string_view field : splitFields(text.substr(1, text.size() - 2))) {
    auto v = parseUint64(field);
    if (!v) return std::nullopt;
    sum = *v > std::numeric_limits<std::uint64_t>::max() - sum ? std::numeric_limits<std::uint64_t>::max() : sum + *v;
  }
  return sum;
}

}  // namespace

Result<GoMemStats> parseMemStats(std::string_view page) {
  // The block is the trailer of a page that can be megabytes of stacks: find it before splitting.
  std::size_t pos = page.find(kMemStatsHeader);
  while (pos != std::string_view::npos && pos != 0 && page[pos - 1] != '\n') {
    pos = page.find(kMemStatsHeader, pos + 1);
  }
  if (pos == std::string_view::npos) {
    return Error{"no \"# runtime.MemStats\" block in the heap?debug=1 page (" + std::to_string(page.size()) +
                 " bytes): not a Go heap profile page, or a Go version that does not print it"};
  }

  GoMemStats out;
  struct Field {
    std::string_view key;
    std::uint64_t* dest;
    bool seen = false;
  };
  std::array<Field, 9> required{{{"HeapObjects", &out.heap_objects},
                                 {"HeapAlloc", &out.heap_alloc_bytes},
                                 {"HeapInuse", &out.heap_inuse_bytes},
                                 {"HeapIdle", &out.heap_idle_bytes},
                                 {"HeapReleased", &out.heap_released_bytes},
                                 {"HeapSys", &out.heap_sys_bytes},
                                 {"Sys", &out.sys_bytes},
                                 {"NextGC", &out.next_gc_bytes},
                                 {"NumGC", &out.num_gc}}};
  bool seen_fraction = false;
  std::optional<std::uint64_t> pause_total;
  std::optional<std::uint64_t> pause_ring_sum;

  const std::vector<std::string_view> lines = splitLines(page.substr(pos));
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = trim(lines[i]);
    if (line.empty()) continue;
    if (line.front() != '#') break;  // the block ends where the comment lines do
    line = trim(line.substr(1));
    const auto eq = line.find(" = ");
    if (eq == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, eq);
    const std::string_view value = trim(line.substr(eq + 3));
    auto bad = [&](const char* expected) {
      return Error{"runtime.MemStats block, line " + std::to_string(i + 1) + ": " + sanitizeUntrusted(key, 64) + ": expected " + expected +
                   ", got \"" + sanitizeUntrusted(value, 64) + "\""};
    };

    bool matched = false;
    for (Field& f : required) {
      if (key != f.key) continue;
      auto v = parseUint64(value);
      if (!v) return bad("an unsigned integer");
      *f.dest = *v;
      f.seen = true;
      matched = true;
      break;
    }
    if (matched) continue;
    if (key == "GCCPUFraction") {
      auto v = parseDouble(value);
      if (!v) return bad("a number");
      out.gc_cpu_fraction = *v;
      seen_fraction = true;
    } else if (key == "PauseTotalNs") {
      auto v = parseUint64(value);
      if (!v) return bad("an unsigned integer");
      pause_total = *v;
    } else if (key == "PauseNs") {
      auto v = sumUintArray(value);
      if (!v) return bad("a list of unsigned integers like [0 12 7]");
      pause_ring_sum = *v;
    } else if (key == "LastGC") {
      auto v = parseUint64(value);
      if (!v) return bad("an unsigned integer");
      out.last_gc_unix_ns = *v;
    } else if (key == "MaxRSS") {
      auto v = parseUint64(value);
      if (!v) return bad("an unsigned integer");
      out.max_rss_bytes = *v;
    }
  }

  std::string missing;
  for (const Field& f : required) {
    if (!f.seen) missing += (missing.empty() ? "" : ", ") + std::string(f.key);
  }
  if (!seen_fraction) missing += (missing.empty() ? "" : ", ") + std::string("GCCPUFraction");
  if (!missing.empty()) return Error{"runtime.MemStats block lacks " + missing};

  if (pause_total) {
    out.pause_total_ns = *pause_total;
  } else if (pause_ring_sum) {
    out.pause_total_ns = *pause_ring_sum;
    out.pause_total_is_partial = out.num_gc > kPauseRingSize;
  }
  return out;
}

Result<std::uint64_t> parseGoroutineTotal(std::string_view page) {
  for (std::string_view line : splitLines(page)) {
    line = trim(line);
    if (!startsWith(line, kGoroutineHeader)) continue;
    auto n = parseUint64(trim(line.substr(kGoroutineHeader.size())));
    if (!n) {
      return Error{"goroutine profile: expected a count after \"total\", got \"" +
                   sanitizeUntrusted(line.substr(kGoroutineHeader.size()), 64) + "\""};
    }
    return *n;
  }
  return Error{"no \"goroutine profile: total N\" line in the goroutine?debug=1 page (" + std::to_string(page.size()) + " bytes)"};
}

}  // namespace memstrain
