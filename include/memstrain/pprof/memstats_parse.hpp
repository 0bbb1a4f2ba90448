#pragma once
// Parsing of the Go runtime's text profiles: the "# runtime.MemStats" trailer of
// /debug/pprof/heap?debug=1 and the "goroutine profile: total N" header of
// /debug/pprof/goroutine?debug=1. Pure functions over untrusted text; no I/O, nothing throws.

#include <cstdint>
#include <optional>
#include <string_view>

#include "memstrain/model/heap.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

/// Parses the "# runtime.MemStats" block of a heap?debug=1 page. Every field of GoMemStats except
/// pause_total_ns and max_rss_bytes is required. Returns an Error when the block is absent, a
/// required key is missing, or a value is not a number (the Error names the key and line).
/// Unknown keys are ignored, so newer Go versions still parse.
Result<GoMemStats> parseMemStats(std::string_view page);

/// Parses "goroutine profile: total N" from the first line of a goroutine?debug=1 page.
/// Returns an Error when that line is missing or N is not a number.
Result<std::uint64_t> parseGoroutineTotal(std::string_view page);

}  // namespace memstrain
