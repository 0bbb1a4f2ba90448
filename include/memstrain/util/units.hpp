#pragma once
// Parsing and printing of the units a plan speaks: sizes, durations, percents. Pure functions over
// text; every overflow and malformed input is an Error that says what was expected.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "memstrain/util/result.hpp"

namespace memstrain {

/// Parses a size such as "512MiB", "1.5GiB", "64KB", "4096B" or "4096" (bytes), or a Kubernetes
/// quantity such as "512Mi", "1Gi", "500M", "128k" or "1e9".
/// Binary units: KiB MiB GiB TiB PiB and Kubernetes' Ki Mi Gi Ti Pi; decimal: KB MB GB TB PB and
/// k M G T P (powers of ten); a decimal exponent e/E without a unit. A fraction of a unit is
/// allowed ("1.5GiB") and rounded down to whole bytes; bytes given bare or by exponent must be
/// whole. "m" (Kubernetes' milli) is refused with a hint. Returns an Error on an unknown unit, a
/// negative or empty number, or a value that does not fit in 63 bits.
Result<std::uint64_t> parseSize(std::string_view text);

/// Parses a duration as Go's time.ParseDuration writes it: one or more number+unit terms such as
/// "250ms", "10s", "1.5m", "1m30s", "1h2m" or "500us" (units ns us µs ms s m h). The unit is
/// required except for "0"; no sign. Returns an Error on overflow (more than ~292 years) or bad
/// syntax.
Result<std::chrono::nanoseconds> parseDuration(std::string_view text);

/// Parses a percent such as "80%" or "12.5%" into a fraction (0.8, 0.125). The number must be
/// finite and non-negative; callers check upper bounds that make sense for them.
Result<double> parsePercent(std::string_view text);

/// True when the text ends in '%', i.e. it is meant as a percent rather than a size.
bool looksLikePercent(std::string_view text);

/// "512.0 MiB", "1.25 GiB", "812 B": binary units, one or two decimals, for humans.
std::string formatBytes(std::uint64_t bytes);

/// Bytes as MiB with one decimal ("512.0"), for tables that state the unit in the header.
std::string formatMiB(double bytes);

/// "250ms", "1.5s", "2m30s": compact, for humans.
std::string formatDuration(std::chrono::nanoseconds d);

}  // namespace memstrain
