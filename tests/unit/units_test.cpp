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
