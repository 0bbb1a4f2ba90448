// libFuzzer target: the unit parsers (sizes, durations, percents) over arbitrary text, plus
// round trips whose answer is known: an integer printed in decimal, with or without a unit, must
// parse back to itself times the unit, or be refused exactly when that product overflows 63 bits.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "memstrain/util/units.hpp"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr std::uint64_t kMax63 = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

// parseSize / parseDuration of "<n><unit>" is n*mult when that fits in 63 bits, an Error otherwise.
template <typename Parse, typename Count>
void checkIntegerRoundTrip(Parse parse, Count count, std::uint64_t n, std::string_view unit, std::uint64_t mult) {
  std::uint64_t want = 0;
  const bool fits = !__builtin_mul_overflow(n, mult, &want) && want <= kMax63;
  auto got = parse(std::to_string(n) + std::string(unit));
  check(got.ok() == fits);
  if (fits) check(count(*got) == want);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace memstrain;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto s = parseSize(text); s.ok()) {
    check(*s <= kMax63);
    (void)formatBytes(*s);
    // Whatever was accepted, its plain byte count is accepted again as the same number.
    auto again = parseSize(std::to_string(*s));
    check(again.ok() && *again == *s);
  }
  if (auto d = parseDuration(text); d.ok()) {
    check(d->count() >= 0);
    (void)formatDuration(*d);
    auto again = parseDuration(std::to_string(d->count()) + "ns");
    check(again.ok() && *again == *d);
  }
  if (auto p = parsePercent(text); p.ok()) {
    check(std::isfinite(*p) && *p >= 0.0 && *p <= 10000.0);
    check(looksLikePercent(text));
  }

  // Round trips of an integer drawn from the input's first bytes, across the unit ladder.
  std::uint64_t n = 0;
  std::memcpy(&n, data, size < sizeof n ? size : sizeof n);
  if (size > sizeof n && (data[sizeof n] & 1)) n >>= (data[sizeof n] >> 1) & 63;  // small numbers too
  const auto bytes = [](std::uint64_t v) { return v; };
  const auto nanos = [](std::chrono::nanoseconds d) { return static_cast<std::uint64_t>(d.count()); };
  const auto sizeOf = [](std::string_view t) { return parseSize(t); };
  const auto durationOf = [](std::string_view t) { return parseDuration(t); };
  checkIntegerRoundTrip(sizeOf, bytes, n, "", 1);
  checkIntegerRoundTrip(sizeOf, bytes, n, "B", 1);
  checkIntegerRoundTrip(sizeOf, bytes, n, "KiB", 1ULL << 10);
  checkIntegerRoundTrip(sizeOf, bytes, n, "MiB", 1ULL << 20);
  checkIntegerRoundTrip(sizeOf, bytes, n, "GiB", 1ULL << 30);
  checkIntegerRoundTrip(sizeOf, bytes, n, "TiB", 1ULL << 40);
  checkIntegerRoundTrip(sizeOf, bytes, n, "KB", 1000ULL);
  checkIntegerRoundTrip(sizeOf, bytes, n, "TB", 1000ULL * 1000 * 1000 * 1000);
  checkIntegerRoundTrip(durationOf, nanos, n, "ns", 1);
  checkIntegerRoundTrip(durationOf, nanos, n, "us", 1000ULL);
  checkIntegerRoundTrip(durationOf, nanos, n, "ms", 1000ULL * 1000);
  checkIntegerRoundTrip(durationOf, nanos, n, "s", 1000ULL * 1000 * 1000);
  checkIntegerRoundTrip(durationOf, nanos, n, "m", 60ULL * 1000 * 1000 * 1000);
  checkIntegerRoundTrip(durationOf, nanos, n, "h", 3600ULL * 1000 * 1000 * 1000);
  // A bare number is never a duration, except 0, which needs no unit (as in Go).
  if (n == 0) {
    auto zero = parseDuration("0");
    check(zero.ok() && zero->count() == 0);
  } else {
    check(!parseDuration(std::to_string(n)).ok());
  }

  // A fraction rounds down: "<n>.5KiB" lies between n KiB and (n+1) KiB.
  const std::uint64_t k = n % (1ULL << 40);
  if (auto half = parseSize(std::to_string(k) + ".5KiB"); half.ok()) {
    check(*half == k * 1024 + 512);
  } else {
    check(false);
  }
  // Percents up to the documented cap parse to n/100.
  const std::uint64_t pct = n % 2000000;
  auto p = parsePercent(std::to_string(pct) + "%");
  check(p.ok() == (pct <= 1000000));
  if (p.ok()) check(*p == static_cast<double>(pct) / 100.0);
  return 0;
}
