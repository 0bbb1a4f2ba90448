#pragma once
// Small bounds-checked helpers for parsing kernel and HTTP text. None of them throws.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace memstrain {

/// `s` without leading and trailing ASCII whitespace.
std::string_view trim(std::string_view s);

/// Parses a whole string as a base-10 unsigned integer. nullopt on empty input, any non-digit,
/// or overflow.
std::optional<std::uint64_t> parseUint64(std::string_view s);

/// Parses a whole string as a base-10 signed integer. nullopt on bad input or overflow.
std::optional<std::int64_t> parseInt64(std::string_view s);

/// Parses a whole string as a finite double (e.g. "0.00123", "1e-05"). nullopt otherwise.
std::optional<double> parseDouble(std::string_view s);

/// Splits on '\n'; a trailing newline does not yield an empty last line.
std::vector<std::string_view> splitLines(std::string_view s);

/// Splits on runs of spaces and tabs, dropping empty fields.
std::vector<std::string_view> splitFields(std::string_view s);

/// True when `s` starts with `prefix`.
inline bool startsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace memstrain
