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
  // memstrain's own units, then Kubernetes' binary and decimal suffixes (resource.Quantity).
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 22> kUnits{{
      {"B", 1},
      {"KiB", 1ULL << 10},
      {"MiB", 1ULL << 20},
      {"GiB", 1ULL << 30},
      {"TiB", 1ULL << 40},
      {"PiB", 1ULL << 50},
      {"KB", 1000ULL},
      {"MB", 1000ULL * 1000},
      {"GB", 1000ULL * 1000 * 1000},
      {"TB", 1000ULL * 1000 * 1000 * 1000},
      {"PB", 1000ULL * 1000 * 1000 * 1000 * 1000},
      {"Ki", 1ULL << 10},
      {"Mi", 1ULL << 20},
      {"Gi", 1ULL << 30},
      {"Ti", 1ULL << 40},
      {"Pi", 1ULL << 50},
      {"k", 1000ULL},
      {"M", 1000ULL * 1000},
      {"G", 1000ULL * 1000 * 1000},
      {"T", 1000ULL * 1000 * 1000 * 1000},
      {"P", 1000ULL * 1000 * 1000 * 1000 * 1000},
      {"", 1},
  }};
  const std::string expected =
      "expected a size like \"512MiB\", \"2GiB\" or \"4096B\", or a Kubernetes quantity like \"512Mi\", \"1G\" or \"1e9\", got " +
      quoted(text);
  std::string_view rest;
  auto dec = parseDecimal(text, rest);
  if (!dec) return Error{expected + detail(dec.error())};
  // Kubernetes' decimal exponent: "1e9", "5E6", "15e-1" (never with a suffix; "1E" alone is exa,
  // which is refused below as too large for anything memstrain sizes).
  int exp10 = 0;
  bool has_exp = false;
  if (rest.size() >= 2 && (rest[0] == 'e' || rest[0] == 'E')) {
    std::size_t i = 1;
    const bool negative = rest[i] == '-';
    if (rest[i] == '+' || rest[i] == '-') ++i;
    if (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
      int e = 0;
      while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
        if (e < 1000) e = e * 10 + (rest[i] - '0');
        ++i;
      }
      if (i != rest.size()) return Error{expected + " (no unit after an exponent)"};
      exp10 = negative ? -e : e;
      has_exp = true;
      rest = {};
    }
  }
  if (rest == "m") return Error{expected + " (\"m\" is milli, a thousandth of a byte; did you mean \"M\" (10^6) or \"Mi\" (2^20)?)"};
  std::uint64_t mult = 0;
  for (const auto& [unit, m] : kUnits) {
    if (rest == unit) mult = m;
  }
  if (mult == 0) return Error{expected};
  // value = (integer * scale + fraction) * mult * 10^exp10 / scale, exactly, in 128 bits.
  __extension__ typedef unsigned __int128 u128;  // GCC and clang; -Wpedantic wants the marker
  const std::string too_large = expected + " (value is too large)";
  u128 num = static_cast<u128>(dec->integer) * dec->fraction_scale + dec->fraction;
  u128 den = dec->fraction_scale;
  if (__builtin_mul_overflow(num, static_cast<u128>(mult), &num)) return Error{too_large};
  for (int k = 0; k < (exp10 < 0 ? -exp10 : exp10); ++k) {
    if (num == 0) break;
    if (exp10 > 0 && __builtin_mul_overflow(num, static_cast<u128>(10), &num)) return Error{too_large};
    if (exp10 < 0 && __builtin_mul_overflow(den, static_cast<u128>(10), &den)) return Error{expected + " (bytes must be whole)"};
  }
  // A fraction of a binary or decimal unit rounds down ("1.5KiB" is 1536); bytes themselves, bare
  // or by exponent, must come out whole.
  if ((mult == 1 || has_exp) && num % den != 0) return Error{expected + " (bytes must be whole)"};
  const u128 v = num / den;
  if (v > kMaxValue) return Error{too_large};
  return static_cast<std::uint64_t>(v);
}

Result<std::chrono::nanoseconds> parseDuration(std::string_view text) {
  // Go's time.ParseDuration units, "µs" and "μs" included.
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 8> kUnits{{
      {"ns", 1},
      {"us", 1000ULL},
      {"\xc2\xb5s", 1000ULL},
      {"\xce\xbcs", 1000ULL},
      {"ms", 1000ULL * 1000},
      {"s", 1000ULL * 1000 * 1000},
      {"m", 60ULL * 1000 * 1000 * 1000},
      {"h", 3600ULL * 1000 * 1000 * 1000},
  }};
  const std::string expected = "expected a duration like \"250ms\", \"10s\", \"1m30s\" or \"1h\", got " + quoted(text);
  if (text == "0") return std::chrono::nanoseconds(0);  // as Go: zero needs no unit
  // One or more number+unit terms, as Go writes them: "1h2m3.5s".
  std::uint64_t total = 0;
  std::string_view rest = text;
  do {
    std::string_view after;
    auto dec = parseDecimal(rest, after);
    if (!dec) return Error{expected + detail(dec.error())};
    std::size_t n = 0;
    while (n < after.size() && !(after[n] >= '0' && after[n] <= '9') && after[n] != '.') ++n;
    const std::string_view unit = after.substr(0, n);
    if (unit.empty()) return Error{expected + " (the unit is required)"};
    std::uint64_t mult = 0;
    for (const auto& [name, m] : kUnits) {
      if (unit == name) mult = m;
    }
    if (mult == 0) return Error{expected};
    auto v = scale(*dec, mult);
    if (!v) return Error{expected + " (" + v.error().message + ")"};
    if (__builtin_add_overflow(total, *v, &total) || total > kMaxValue) return Error{expected + " (value is too large)"};
    rest = after.substr(n);
  } while (!rest.empty());
  return std::chrono::nanoseconds(static_cast<std::int64_t>(total));
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
