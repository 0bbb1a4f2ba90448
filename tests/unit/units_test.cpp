#include "memstrain/util/units.hpp"

#include <gtest/gtest.h>

namespace memstrain {
namespace {

using namespace std::chrono_literals;

TEST(Units, SizesInBinaryAndDecimalUnits) {
  EXPECT_EQ(*parseSize("512MiB"), 512ULL << 20);
  EXPECT_EQ(*parseSize("1.5GiB"), 3ULL << 29);
  EXPECT_EQ(*parseSize("4096B"), 4096U);
  EXPECT_EQ(*parseSize("4096"), 4096U);
  EXPECT_EQ(*parseSize("64KB"), 64000U);
  EXPECT_EQ(*parseSize("2MB"), 2000000U);
  EXPECT_EQ(*parseSize("1GB"), 1000000000U);
  EXPECT_EQ(*parseSize("1TiB"), 1ULL << 40);
  EXPECT_EQ(*parseSize("0.5KiB"), 512U);
}

TEST(Units, SizeErrorsSayWhatWasExpected) {
  for (const char* bad : {"", "lots", "-1MiB", "12 MiB", "1.5B", "MiB", "1mib", "1e3MiB", "1..5GiB", "+5MiB"}) {
    auto r = parseSize(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("expected a size like"), std::string::npos) << r.error().message;
  }
}

TEST(Units, SizeOverflowIsAnErrorNotAWrap) {
  EXPECT_FALSE(parseSize("99999999999999999999B").ok());
  EXPECT_FALSE(parseSize("16777216TiB").ok());  // 2^64
  EXPECT_FALSE(parseSize("8388608TiB").ok());   // 2^63: above int64
  EXPECT_TRUE(parseSize("8388607TiB").ok());
  auto r = parseSize("18446744073709551616");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("too large"), std::string::npos);
}

TEST(Units, Durations) {
  EXPECT_EQ(*parseDuration("250ms"), 250ms);
  EXPECT_EQ(*parseDuration("10s"), 10s);
  EXPECT_EQ(*parseDuration("1.5m"), 90s);
  EXPECT_EQ(*parseDuration("2h"), 2h);
  EXPECT_EQ(*parseDuration("500us"), 500us);
  EXPECT_EQ(*parseDuration("0s"), 0s);
  for (const char* bad : {"10", "s", "10 s", "10sec", "-1s", "1d", "9999999999999h"}) {
    EXPECT_FALSE(parseDuration(bad).ok()) << bad;
  }
}

// Kubernetes' resource.Quantity forms, as a pod spec's resources.limits.memory writes them.
TEST(Units, KubernetesQuantities) {
  EXPECT_EQ(*parseSize("512Mi"), 512ULL << 20);
  EXPECT_EQ(*parseSize("1Gi"), 1ULL << 30);
  EXPECT_EQ(*parseSize("1.5Gi"), 3ULL << 29);
  EXPECT_EQ(*parseSize("64Ki"), 64ULL << 10);
  EXPECT_EQ(*parseSize("2Ti"), 2ULL << 40);
  EXPECT_EQ(*parseSize("1Pi"), 1ULL << 50);
  EXPECT_EQ(*parseSize("500M"), 500000000U);
  EXPECT_EQ(*parseSize("128k"), 128000U);
  EXPECT_EQ(*parseSize("1G"), 1000000000U);
  EXPECT_EQ(*parseSize("1e9"), 1000000000U);
  EXPECT_EQ(*parseSize("5E6"), 5000000U);
  EXPECT_EQ(*parseSize("1.5e3"), 1500U);
  EXPECT_EQ(*parseSize("1000e-3"), 1U);
  EXPECT_EQ(*parseSize("129e6"), 129000000U);
  EXPECT_EQ(*parseSize("1PiB"), 1ULL << 50);
  EXPECT_EQ(*parseSize("1PB"), 1000000000000000ULL);
}

TEST(Units, KubernetesQuantityErrors) {
  // milli-bytes are a classic mistake for "M": refused with a hint.
  auto milli = parseSize("500m");
  ASSERT_FALSE(milli.ok());
  EXPECT_NE(milli.error().message.find("did you mean \"M\""), std::string::npos) << milli.error().message;
  auto half = parseSize("15e-1");
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.error().message.find("whole"), std::string::npos) << half.error().message;
  auto huge = parseSize("1e99");
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message.find("too large"), std::string::npos) << huge.error().message;
  for (const char* bad : {"1e", "1e+", "1E", "1Ei", "1K", "1mi", "1gi", "1e3Mi", "1Mi ", " 1Mi", "0x10", "1e9.5"}) {
    auto r = parseSize(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("expected a size like"), std::string::npos) << r.error().message;
  }
  EXPECT_TRUE(parseSize("8e18").ok());
  EXPECT_FALSE(parseSize("1e19").ok()) << "above 63 bits";
}

// Go's time.ParseDuration forms, as GOGC-era configs and kubectl write them.
TEST(Units, GoDurations) {
  EXPECT_EQ(*parseDuration("1m30s"), 90s);
  EXPECT_EQ(*parseDuration("1h2m"), 62min);
  EXPECT_EQ(*parseDuration("2h45m30.5s"), 2h + 45min + 30500ms);
  EXPECT_EQ(*parseDuration("1.5h"), 90min);
  EXPECT_EQ(*parseDuration("300ms"), 300ms);
  EXPECT_EQ(*parseDuration("1s500ms"), 1500ms);
  EXPECT_EQ(*parseDuration("10\xc2\xb5s"), 10us);  // µs (micro sign)
  EXPECT_EQ(*parseDuration("10\xce\xbcs"), 10us);  // μs (Greek mu)
  EXPECT_EQ(*parseDuration("0"), 0s);
  for (const char* bad : {"1m30", "1h 2m", "1h-2m", "h1", "1mm", "1m30x", "+1m", "1d2h", "00", ".s", "1..5s"}) {
    auto r = parseDuration(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("expected a duration like"), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(parseDuration("2562047h48m").ok()) << "past int64 nanoseconds";
  EXPECT_TRUE(parseDuration("2562047h").ok());
}

TEST(Units, Percents) {
  EXPECT_DOUBLE_EQ(*parsePercent("80%"), 0.8);
  EXPECT_DOUBLE_EQ(*parsePercent("12.5%"), 0.125);
  EXPECT_FALSE(parsePercent("80").ok());
  EXPECT_FALSE(parsePercent("%").ok());
  EXPECT_FALSE(parsePercent("-5%").ok());
  EXPECT_FALSE(parsePercent("99999999%").ok());
  EXPECT_TRUE(looksLikePercent("80%"));
  EXPECT_FALSE(looksLikePercent("80MiB"));
}

TEST(Units, Formatting) {
  EXPECT_EQ(formatBytes(512ULL << 20), "512.0 MiB");
  EXPECT_EQ(formatBytes(3ULL << 29), "1.50 GiB");
  EXPECT_EQ(formatBytes(812), "812 B");
  EXPECT_EQ(formatDuration(0ms), "0s");
  EXPECT_EQ(formatDuration(250ms), "250ms");
  EXPECT_EQ(formatDuration(1500ms), "1.5s");
  EXPECT_EQ(formatDuration(150s), "2m30s");
  EXPECT_EQ(formatMiB(1.5 * 1024 * 1024), "1.5");
}

}  // namespace
}  // namespace memstrain
