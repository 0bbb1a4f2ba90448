#include "memstrain/proc/proc_stat.hpp"

#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace memstrain {
namespace {

TEST(ProcStat, CountsFieldsFromTheLastParenthesis) {
  // A command name with spaces and a ')' inside must not shift the fields.
  const char* text =
      "4242 (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 100 1000000 200 "
      "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  auto r = parseProcStat(text, 100);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_DOUBLE_EQ(r->user_s, 2.5);
  EXPECT_DOUBLE_EQ(r->system_s, 0.75);
  EXPECT_DOUBLE_EQ(r->total(), 3.25);
}

TEST(ProcStat, StartTimeIsField22InTicks) {
  const char* text =
      "4242 (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 12345 1000000 200 "
      "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  auto r = parseProcStartAfterBoot(text, 100);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_DOUBLE_EQ(*r, 123.45);
  EXPECT_FALSE(parseProcStartAfterBoot("1 (x) S 1 1 1 0 -1 0 0 0 0 0 1 5 0", 100).ok()) << "too few fields";
  EXPECT_FALSE(parseProcStartAfterBoot("1 (x) S 1 1 1 0 -1 0 0 0 0 0 1 5 0 0 20 0 1 0 soon 1", 100).ok());
  EXPECT_FALSE(parseProcStartAfterBoot(text, 0).ok());
}

TEST(ProcStat, BootTimeMapsToTheWallClock) {
  // Started 123.45 s after boot; the boot clock reads 200 s when the wall clock reads 1e18 ns.
  EXPECT_EQ(bootTimeToUnixNs(123.45, 200.0, 1'000'000'000'000'000'000), 1'000'000'000'000'000'000 - 76'550'000'000);
}

TEST(ProcStat, ThisProcessStartedBeforeNowAndAfterBoot) {
  auto start = readProcessStartUnixNs(::getpid());
  ASSERT_TRUE(start.ok()) << start.error().message;
  timespec wall{};
  ::clock_gettime(CLOCK_REALTIME, &wall);
  const std::int64_t now_ns = static_cast<std::int64_t>(wall.tv_sec) * 1'000'000'000 + wall.tv_nsec;
  EXPECT_LE(*start, now_ns + 20'000'000);  // a tick of rounding
  EXPECT_GT(*start, now_ns - std::int64_t{3600} * 1'000'000'000) << "a test process is younger than an hour";
  EXPECT_FALSE(readProcessStartUnixNs(0x7ffffff0).ok());
}

TEST(ProcStat, RejectsGarbage) {
  EXPECT_FALSE(parseProcStat("", 100).ok());
  EXPECT_FALSE(parseProcStat("1 (x) S 1 2", 100).ok());
  EXPECT_FALSE(parseProcStat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 5 0", 100).ok());
  EXPECT_FALSE(parseProcStat("no parens at all 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15", 100).ok());
}

TEST(ProcStat, ReadsThisProcess) {
  auto r = readProcessCpu(::getpid());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_GE(r->total(), 0.0);
  EXPECT_FALSE(readProcessCpu(0x7ffffff0).ok());
}

}  // namespace
}  // namespace memstrain
