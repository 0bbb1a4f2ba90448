#include "memstrain/util/units.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

namespace memstrain {
namespace {

constexpr std::uint64_t kMaxValue = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

// A non-negative decimal number split into its integer and fraction digits, e.g. "12.5" -> 12, "5", 1.
struct Decimal {
  std::uint64_t integer = 0;
  std::uint64_t fraction = 0;        // fraction digits as an integer
  std::uint64_t fraction_scale = 1;  // 10^(number of fraction digits)
};

// Parses the leading number of `text`; `rest` receives what follows it.
Result<Decimal> parseDecimal(std::string_view text, std::string_view& rest) {
  Decimal d;
  std::size_t i = 0;
  bool any_digit = false;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (__builtin_mul_overflow(d.integer, 10U, &d.integer) ||
        __builtin_add_overflow(d.integer, static_cast<std::uint64_t>(text[i] - '0'), &d.integer)) {
      return Error{"number is too large"};
    }
    any_digit = true;
    ++i;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    int digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (digits < 9) {  // more precision than a nanosecond or a byte fraction is noise
        d.fraction = d.fraction * 10 + static_cast<std::uint64_t>(text[i] - '0');
        d.fraction_scale *= 10;
        ++digits;
      }
      any_digit = true;
      ++i;
    }
  }
  if (!any_digit) return Error{"expected a number"};
  rest = text.substr(i);
  return d;
}

// integer*mult + fraction*mult/scale, or an Error when it exceeds kMaxValue.
Result<std::uint64_t> scale(const Decimal& d, std::uint64_t mult) {
  std::uint64_t whole = 0;
  if (__builtin_mul_overflow(d.integer, mult, &whole) || whole > kMaxValue) {
    return Error{"value is too large"};
  }
  // fraction < scale <= 1e9 and mult <= 1e12-ish for the units we accept; split to avoid overflow.
  long double part = static_cast<long double>(d.fraction) * static_cast<long double>(mult) / static_cast<long double>(d.fraction_scale);
  std::uint64_t frac_part = static_cast<std::uint64_t>(part);
  std::uint64_t total = 0;
  if (__builtin_add_overflow(whole, frac_part, &total) || total > kMaxValue) {
    return Error{"value is too large"};
  }
  return total;
}

// " (number is too large)" for errors worth naming, "" for plain syntax errors.
std::string detail(const Error& e) { return e.message == "expected a number" ? "" : " (" + e.message + ")"; }

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
    if (out.size() > 64) {
      out += "...";
      break;
    }
  }
  return out + "\"";
}

}  // namespace

Result<std::uint64_t> parseSize(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 10> kUnits{{
      {"B", 1},
      {"KiB", 1ULL << 10},
      {"MiB", 1ULL << 20},
      {"GiB", 1ULL << 30},
      {"TiB", 1ULL << 40},
      {"KB", 1000ULL},
      {"MB", 1000ULL * 1000},
      {"GB", 1000ULL * 1000 * 1000},
      {"TB", 1000ULL * 1000 * 1000 * 1000},
      {"", 1},
  }};
  const std::string expected = "expected a size like \"512MiB\", \"2GiB\" or \"4096B\", got " + quoted(text);
  std::string_view rest;
  auto dec = parseDecimal(text, rest);
  if (!dec) return Error{expected + detail(dec.error())};
  for (const auto& [unit, mult] : kUnits) {
    if (rest == unit) {
      if (mult == 1 && dec->fraction != 0) return Error{expected + " (bytes must be whole)"};
      auto v = scale(*dec, mult);
      if (!v) return Error{expected + " (" + v.error().message + ")"};
      return *v;
    }
  }
  return Error{expected};
}

Result<std::chrono::nanoseconds> parseDuration(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 6> kUnits{{
      {"ns", 1},
      {"us", 1000ULL},
      {"ms", 1000ULL * 1000},
      {"s", 1000ULL * 1000 * 1000},
      {"m", 60ULL * 1000 * 1000 * 1000},
      {"h", 3600ULL * 1000 * 1000 * 1000},
  }};
  const std::string expected = "expected a duration like \"250ms\", \"10s\", \"2m\" or \"1h\", got " + quoted(text);
  std::string_view rest;
  auto dec = parseDecimal(text, rest);
  if (!dec) return Error{expected + detail(dec.error())};
  for (const auto& [unit, mult] : kUnits) {
    if (rest == unit) {
      auto v = scale(*dec, mult);
      if (!v) return Error{expected + " (" + v.error().message + ")"};
      return std::chrono::nanoseconds(static_cast<std::int64_t>(*v));
    }
  }
  return Error{expected};
}

bool looksLikePercent(std::string_view text) { return !text.empty() && text.back() == '%'; }

Result<double> parsePercent(std::string_view text) {
  const std::string expected = "expected a percent like \"80%\", got " + quoted(text);
  std::string_view rest;
  auto dec = parseDecimal(text, rest);
  if (!dec || rest != "%") return Error{expected};
  if (dec->integer > 1000000) return Error{expected + " (value is too large)"};
  double v = static_cast<double>(dec->integer) + static_cast<double>(dec->fraction) / static_cast<double>(dec->fraction_scale);
  return v / 100.0;
}

std::string formatBytes(std::uint64_t bytes) {
  static constexpr std::array<const char*, 5> kNames{"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  std::size_t i = 0;
  while (v >= 1024.0 && i + 1 < kNames.size()) {
    v /= 1024.0;
    ++i;
  }
  char buf[48];
  if (i == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, v < 10 ? "%.2f %s" : "%.1f %s", v, kNames[i]);
  }
  return buf;
}

std::string formatMiB(double bytes) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.1f", bytes / (1024.0 * 1024.0));
  return buf;
}

std::string formatDuration(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  char buf[64];
  const double ns = static_cast<double>(d.count());
  if (d.count() == 0) return "0s";  // "at 0s", not "at 0ns"
  if (d < microseconds(1)) {
    std::snprintf(buf, sizeof buf, "%lldns", static_cast<long long>(d.count()));
  } else if (d < milliseconds(1)) {
    std::snprintf(buf, sizeof buf, "%.3gus", ns / 1e3);
  } else if (d < seconds(1)) {
    std::snprintf(buf, sizeof buf, "%.3gms", ns / 1e6);
  } else if (d < minutes(1)) {
    std::snprintf(buf, sizeof buf, "%.3gs", ns / 1e9);
  } else {
    auto total_s = duration_cast<seconds>(d).count();
    if (total_s < 3600) {
      std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(total_s / 60), static_cast<long long>(total_s % 60));
    } else {
      std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(total_s / 3600), static_cast<long long>((total_s % 3600) / 60));
    }
  }
  return buf;
}

}  // namespace memstrain
