#include "memstrain/util/text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

namespace memstrain {

std::string_view trim(std::string_view s) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<std::uint64_t> parseUint64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::int64_t> parseInt64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parseDouble(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::vector<std::string_view> splitLines(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    auto nl = s.find('\n');
    if (nl == std::string_view::npos) {
      out.push_back(s);
      break;
    }
    out.push_back(s.substr(0, nl));
    s.remove_prefix(nl + 1);
  }
  return out;
}

std::vector<std::string_view> splitFields(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

}  // namespace memstrain

namespace memstrain {
namespace {

// The well-formed UTF-8 sequence at the start of `s`: its length and code point, or 0 when the
// bytes there are not one (truncated, overlong, a surrogate, past U+10FFFF, a stray continuation).
std::size_t decodeUtf8(std::string_view s, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t len = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// Well-formed characters that still do harm in a one-line message on a terminal: C1 controls
// (U+009B is a CSI on some terminals), line and paragraph separators, and the bidirectional
// embeddings, overrides and isolates that reorder the text around them.
bool terminalUnsafe(char32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

bool isValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    char32_t cp = 0;
    const std::size_t n = decodeUtf8(s.substr(i), cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string sanitizeUntrusted(std::string_view bytes, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(bytes.size(), max_bytes) + 24);
  std::size_t i = 0;
  char piece[16];
  while (i < bytes.size()) {
    char32_t cp = 0;
    std::size_t n = decodeUtf8(bytes.substr(i), cp);
    std::string_view add;
    if (n == 0 || cp < 0x20 || cp == 0x7F) {
      const auto b = static_cast<unsigned char>(bytes[i]);
      piece[0] = '\\', piece[1] = 'x', piece[2] = kHex[b >> 4], piece[3] = kHex[b & 0xF];
      add = std::string_view(piece, 4);
      n = 1;
    } else if (cp == '\\') {
      add = "\\\\";
    } else if (terminalUnsafe(cp)) {
      const int k = std::snprintf(piece, sizeof piece, "\\u{%04x}", static_cast<unsigned>(cp));
      add = std::string_view(piece, static_cast<std::size_t>(k));
    } else {
      add = bytes.substr(i, n);
    }
    if (out.size() + add.size() > max_bytes) break;
    out += add;
    i += n;
  }
  if (i < bytes.size()) out += "\u2026(" + std::to_string(bytes.size() - i) + " more bytes)";
  return out;
}

}  // namespace memstrain
