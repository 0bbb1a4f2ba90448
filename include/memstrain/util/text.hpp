#pragma once
// Small bounds-checked helpers for parsing kernel and HTTP text. None of them throws.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
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

/// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool isValidUtf8(std::string_view s);

/// How many bytes of untrusted text (a peer's body, a header, a line of a page) an error message
/// quotes by default.
inline constexpr std::size_t kUntrustedSnippetBytes = 200;

/// The one policy for bytes memstrain did not produce (HTTP bodies and headers, libcurl's error
/// text, lines of a target's pages) on their way into messages, logs and JSON: the result is valid
/// UTF-8, one line, safe on a terminal, and at most `max_bytes` long plus a short "…(N more bytes)"
/// tail when cut. Printable ASCII and well-formed non-ASCII characters stay as they are; a
/// backslash becomes "\\"; control bytes (C0, DEL) and bytes that are not well-formed UTF-8 become
/// "\xHH"; C1 controls and the characters that reorder or break lines on a terminal (U+2028,
/// U+2029, the bidirectional embeddings, overrides and isolates) become "\u{HHHH}". Work is bounded
/// by `max_bytes`, not by the input's size. Never throws except std::bad_alloc.
std::string sanitizeUntrusted(std::string_view bytes, std::size_t max_bytes = kUntrustedSnippetBytes);

/// True when `s` starts with `prefix`.
inline bool startsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace memstrain
