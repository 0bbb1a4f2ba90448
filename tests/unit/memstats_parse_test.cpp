// Parsing of the runtime.MemStats trailer and the goroutine total, on literal pages as Go 1.19
// prints them and on broken ones.

#include "memstrain/pprof/memstats_parse.hpp"
#include "memstrain/util/text.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace memstrain {
namespace {

using ::testing::HasSubstr;

std::string pauseRing(const std::string& first_values) {
  std::string out = "[" + first_values;
  // Go prints all 256 slots of the ring buffer.
  int given = first_values.empty() ? 0 : 1;
  for (char c : first_values) given += c == ' ' ? 1 : 0;
  for (int i = given; i < 256; ++i) out += " 0";
  return out + "]";
}

// The tail of a real Go 1.19 heap?debug=1 page (stacks shortened).
std::string goPage(const std::string& num_gc = "2", const std::string& pauses = "83636 10399") {
  return "heap profile: 1775: 6373120 [3780: 6629736] @ heap/2\n"
         "4: 4194304 [4: 4194304] @ 0x4ce917 0x4cea6a 0x4ce02e 0x437cd2 0x461e01\n"
         "#\t0x4ce916\tmain.allocD+0x36\tmemstrain.dev/goprof/cmd/heapgen/shapes.go:103\n"
         "#\t0x4ce02d\tmain.main+0x58d\t\tmemstrain.dev/goprof/cmd/heapgen/main.go:154\n"
         "\n"
         "\n"
         "# runtime.MemStats\n"
         "# Alloc = 7761376\n"
         "# TotalAlloc = 8018688\n"
         "# Sys = 23180552\n"
         "# Lookups = 0\n"
         "# Mallocs = 4543\n"
         "# Frees = 2104\n"
         "# HeapAlloc = 7761376\n"
         "# HeapSys = 12353536\n"
         "# HeapIdle = 4136960\n"
         "# HeapInuse = 8216576\n"
         "# HeapReleased = 3981312\n"
         "# HeapObjects = 2439\n"
         "# Stack = 229376 / 229376\n"
         "# MSpan = 58032 / 65088\n"
         "# MCache = 2400 / 15600\n"
         "# BuckHashSys = 1483671\n"
         "# GCSys = 8408712\n"
         "# OtherSys = 624569\n"
         "# NextGC = 13080136\n"
         "# LastGC = 1795751459585819483\n"
         "# PauseNs = " +
         pauseRing(pauses) +
         "\n"
         "# PauseEnd = " +
         pauseRing("1795751459580025603 1795751459585819483") +
         "\n"
         "# NumGC = " +
         num_gc +
         "\n"
         "# NumForcedGC = 1\n"
         "# GCCPUFraction = 0.013100300481668718\n"
         "# DebugGC = false\n"
         "# MaxRSS = 7159808\n";
}

TEST(MemStatsParseTest, ParsesGo119Trailer) {
  auto r = parseMemStats(goPage());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const GoMemStats& s = *r;
  EXPECT_EQ(s.heap_objects, 2439u);
  EXPECT_EQ(s.heap_alloc_bytes, 7761376u);
  EXPECT_EQ(s.heap_inuse_bytes, 8216576u);
  EXPECT_EQ(s.heap_idle_bytes, 4136960u);
  EXPECT_EQ(s.heap_released_bytes, 3981312u);
  EXPECT_EQ(s.heap_sys_bytes, 12353536u);
  EXPECT_EQ(s.sys_bytes, 23180552u);
  EXPECT_EQ(s.next_gc_bytes, 13080136u);
  EXPECT_EQ(s.num_gc, 2u);
  EXPECT_EQ(s.pause_total_ns, 83636u + 10399u);  // Go 1.19 prints no PauseTotalNs: summed from PauseNs
  EXPECT_FALSE(s.pause_total_is_partial);
  EXPECT_DOUBLE_EQ(s.gc_cpu_fraction, 0.013100300481668718);
  EXPECT_EQ(s.last_gc_unix_ns, 1795751459585819483u);
  ASSERT_TRUE(s.max_rss_bytes.has_value());
  EXPECT_EQ(*s.max_rss_bytes, 7159808u);
}

TEST(MemStatsParseTest, PauseSumIsMarkedPartialOnceTheRingWrapped) {
  auto r = parseMemStats(goPage("300", "5 6 7"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->pause_total_ns, 18u);
  EXPECT_TRUE(r->pause_total_is_partial);
}

TEST(MemStatsParseTest, PrefersPauseTotalNsWhenPresent) {
  std::string page = goPage() + "# PauseTotalNs = 123456\n";
  auto r = parseMemStats(page);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->pause_total_ns, 123456u);
}

TEST(MemStatsParseTest, MaxRssIsOptionalAndCrlfIsFine) {
  std::string page = goPage();
  page.erase(page.find("# MaxRSS"));
  std::string crlf;
  for (char c : page) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  auto r = parseMemStats(crlf);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->max_rss_bytes.has_value());
  EXPECT_EQ(r->heap_objects, 2439u);
  std::string no_last_gc = goPage();
  no_last_gc.erase(no_last_gc.find("# LastGC"), no_last_gc.find("# PauseNs") - no_last_gc.find("# LastGC"));
  auto n = parseMemStats(no_last_gc);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_FALSE(n->last_gc_unix_ns.has_value()) << "LastGC is optional";
}

TEST(MemStatsParseTest, ExponentFormattedFractionParses) {
  std::string page = goPage();
  page.replace(page.find("0.013100300481668718"), 20, "1.2345e-05");
  auto r = parseMemStats(page);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_DOUBLE_EQ(r->gc_cpu_fraction, 1.2345e-05);
}

TEST(MemStatsParseTest, ErrorWhenTheBlockIsAbsent) {
  auto r = parseMemStats("heap profile: 0: 0 [0: 0] @ heap/1048576\n");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("no \"# runtime.MemStats\" block"));
  EXPECT_FALSE(parseMemStats("").ok());
  EXPECT_FALSE(parseMemStats("<html>404 page not found</html>").ok());
  // The header inside a line is not the header.
  EXPECT_FALSE(parseMemStats("x # runtime.MemStats\n# HeapObjects = 1\n").ok());
}

TEST(MemStatsParseTest, ErrorNamesMissingKeys) {
  std::string page = goPage();
  page.erase(page.find("# HeapObjects"), std::string("# HeapObjects = 2439\n").size());
  auto r = parseMemStats(page);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("lacks HeapObjects"));
}

TEST(MemStatsParseTest, ErrorNamesTheBadValue) {
  std::string page = goPage();
  page.replace(page.find("HeapInuse = 8216576"), 19, "HeapInuse = lots");
  auto r = parseMemStats(page);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("HeapInuse: expected an unsigned integer, got \"lots\""));

  std::string neg = goPage();
  neg.replace(neg.find("NumGC = 2"), 9, "NumGC = -2");
  EXPECT_FALSE(parseMemStats(neg).ok());

  std::string overflow = goPage();
  overflow.replace(overflow.find("HeapObjects = 2439"), 18, "HeapObjects = 99999999999999999999999");
  EXPECT_FALSE(parseMemStats(overflow).ok());

  std::string ring = goPage();
  ring.replace(ring.find("PauseNs = ["), 11, "PauseNs = (");
  EXPECT_FALSE(parseMemStats(ring).ok());
}

// Issue 15: the bad value was quoted raw; bytes that are not UTF-8 then broke the JSON writers.
TEST(MemStatsParseTest, ABadValueIsQuotedAsValidText) {
  std::string page = goPage();
  page.replace(page.find("HeapInuse = 8216576"), 19, "HeapInuse = \xff\xfe\x80");
  auto r = parseMemStats(page);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(isValidUtf8(r.error().message)) << r.error().message;
  EXPECT_THAT(r.error().message, HasSubstr("got \"\\xff\\xfe\\x80\""));
  auto g = parseGoroutineTotal("goroutine profile: total \xc3\x28\n");
  ASSERT_FALSE(g.ok());
  EXPECT_TRUE(isValidUtf8(g.error().message)) << g.error().message;
}

TEST(MemStatsParseTest, BlockEndsAtTheFirstNonCommentLine) {
  std::string page = "# runtime.MemStats\n# HeapObjects = 1\nnot a comment\n# HeapAlloc = 2\n";
  auto r = parseMemStats(page);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("lacks HeapAlloc"));
}

TEST(GoroutineParseTest, ParsesTotal) {
  auto r = parseGoroutineTotal(
      "goroutine profile: total 12\n"
      "4 @ 0x43a976 0x40717b 0x406db8\n"
      "#\t0x4ce3e4\tmain.worker+0x44\t/src/main.go:40\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, 12u);
}

TEST(GoroutineParseTest, ErrorsOnMissingOrBadTotal) {
  auto r = parseGoroutineTotal("404 page not found\n");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("goroutine profile: total N"));
  auto bad = parseGoroutineTotal("goroutine profile: total many\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("\"many\""));
  EXPECT_FALSE(parseGoroutineTotal("").ok());
}

}  // namespace
}  // namespace memstrain
