// top and diff over plain HeapProfile structs: the flat/cum rules of `go tool pprof -top`.

#include "memstrain/pprof/pprof_top.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace memstrain {
namespace {

using ::testing::HasSubstr;

// Builds a HeapProfile with the four Go heap sample types. Values are given as
// {alloc_objects, alloc_space, inuse_objects, inuse_space}.
class HeapBuilder {
 public:
  HeapBuilder() {
    p.sample_types = {{"alloc_objects", "count"}, {"alloc_space", "bytes"}, {"inuse_objects", "count"}, {"inuse_space", "bytes"}};
    p.mappings.push_back(ProfileMapping{1, 0, 0, 0, "/usr/local/bin/target", "", true});
  }

  // A location with the given functions, innermost first ("" = a line without a function).
  std::uint32_t loc(const std::vector<std::string>& names) {
    ProfileLocation l;
    l.id = p.locations.size() + 1;
    l.mapping_index = 0;
    l.first_line = static_cast<std::uint32_t>(p.lines.size());
    l.line_count = static_cast<std::uint32_t>(names.size());
    for (const auto& n : names) {
      ProfileLine line;
      line.function_index = n.empty() ? ProfileLine::kNoFunction : fn(n);
      p.lines.push_back(line);
    }
    p.locations.push_back(l);
    return static_cast<std::uint32_t>(p.locations.size() - 1);
  }

  void sample(const std::vector<std::uint32_t>& stack, const std::vector<std::int64_t>& values) {
    ProfileSample s;
    s.first_location = static_cast<std::uint32_t>(p.sample_locations.size());
    s.location_count = static_cast<std::uint32_t>(stack.size());
    p.sample_locations.insert(p.sample_locations.end(), stack.begin(), stack.end());
    p.sample_values.insert(p.sample_values.end(), values.begin(), values.end());
    p.samples.push_back(s);
  }

  HeapProfile p;

 private:
  std::uint32_t fn(const std::string& name) {
    auto it = fns_.find(name);
    if (it != fns_.end()) return it->second;
    p.functions.push_back(ProfileFunction{p.functions.size() + 1, name, name, "x.go", 1});
    return fns_[name] = static_cast<std::uint32_t>(p.functions.size() - 1);
  }
  std::map<std::string, std::uint32_t> fns_;
};

std::map<std::string, std::pair<std::int64_t, std::int64_t>> byName(const TopReport& r) {
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> out;
  for (const auto& row : r.rows) out[row.name] = {row.flat, row.cum};
  return out;
}

std::vector<std::string> names(const TopReport& r) {
  std::vector<std::string> out;
  for (const auto& row : r.rows) out.push_back(row.name);
  return out;
}

TEST(PprofTopTest, FlatGoesToTheLeafAndCumToEveryFrame) {
  HeapBuilder b;
  auto leak = b.loc({"main.leak"});
  auto cache = b.loc({"main.cache"});
  auto main = b.loc({"main.main"});
  b.sample({leak, main}, {0, 0, 100, 6400});
  b.sample({cache, main}, {0, 0, 30, 3000});
  b.sample({main}, {0, 0, 1, 8});
  auto r = computeTop(b.p, "inuse_objects");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->sample_type, "inuse_objects");
  EXPECT_EQ(r->unit, "count");
  EXPECT_EQ(r->total, 131);
  EXPECT_EQ(names(*r), (std::vector<std::string>{"main.leak", "main.cache", "main.main"}));
  auto m = byName(*r);
  EXPECT_EQ(m["main.leak"], std::make_pair(std::int64_t{100}, std::int64_t{100}));
  EXPECT_EQ(m["main.cache"], std::make_pair(std::int64_t{30}, std::int64_t{30}));
  EXPECT_EQ(m["main.main"], std::make_pair(std::int64_t{1}, std::int64_t{131}));
  EXPECT_EQ(flatSum(*r, 2), 130);
}

TEST(PprofTopTest, RecursionCountsOncePerSampleInCum) {
  HeapBuilder b;
  auto rec1 = b.loc({"main.walk"});
  auto rec2 = b.loc({"main.walk"});
  auto main = b.loc({"main.main"});
  b.sample({rec1, rec2, rec1, main}, {0, 0, 5, 50});
  b.sample({rec2, main}, {0, 0, 2, 20});
  auto r = computeTop(b.p, "inuse_objects");
  ASSERT_TRUE(r.ok());
  auto m = byName(*r);
  EXPECT_EQ(m["main.walk"], std::make_pair(std::int64_t{7}, std::int64_t{7}));
  EXPECT_EQ(m["main.main"], std::make_pair(std::int64_t{0}, std::int64_t{7}));
}

TEST(PprofTopTest, InlinedFramesEachCountAndTheInnermostGetsFlat) {
  HeapBuilder b;
  auto work = b.loc({"main.inner", "main.middle", "main.work"});
  auto main = b.loc({"main.main"});
  b.sample({work, main}, {0, 0, 9, 90});
  auto r = computeTop(b.p, "inuse_objects");
  ASSERT_TRUE(r.ok());
  auto m = byName(*r);
  EXPECT_EQ(m["main.inner"], std::make_pair(std::int64_t{9}, std::int64_t{9}));
  EXPECT_EQ(m["main.middle"], std::make_pair(std::int64_t{0}, std::int64_t{9}));
  EXPECT_EQ(m["main.work"], std::make_pair(std::int64_t{0}, std::int64_t{9}));
  EXPECT_EQ(m["main.main"], std::make_pair(std::int64_t{0}, std::int64_t{9}));
}

TEST(PprofTopTest, SortsByFlatThenNameThenCum) {
  HeapBuilder b;
  auto zeta = b.loc({"z.f"});
  auto alpha = b.loc({"a.f"});
  auto big = b.loc({"m.big"});
  auto root = b.loc({"b.root"});
  b.sample({zeta, root}, {0, 0, 5, 0});
  b.sample({alpha, root}, {0, 0, 5, 0});
  b.sample({big}, {0, 0, 7, 0});
  auto r = computeTop(b.p, "inuse_objects");
  ASSERT_TRUE(r.ok());
  // Flat 7, then the two 5s by name, then the root with flat 0.
  EXPECT_EQ(names(*r), (std::vector<std::string>{"m.big", "a.f", "z.f", "b.root"}));
}

TEST(PprofTopTest, FunctionsOnlyInZeroSamplesAreLeftOut) {
  HeapBuilder b;
  auto freed = b.loc({"main.freed"});
  auto live = b.loc({"main.live"});
  b.sample({freed}, {10, 100, 0, 0});
  b.sample({live}, {1, 10, 1, 10});
  auto inuse = computeTop(b.p, "inuse_space");
  ASSERT_TRUE(inuse.ok());
  EXPECT_EQ(names(*inuse), (std::vector<std::string>{"main.live"}));
  auto alloc = computeTop(b.p, "alloc_space");
  ASSERT_TRUE(alloc.ok());
  EXPECT_EQ(names(*alloc), (std::vector<std::string>{"main.freed", "main.live"}));
  EXPECT_EQ(alloc->total, 110);
}

TEST(PprofTopTest, DefaultSampleTypeIsTheProfilesDefaultElseTheLast) {
  HeapBuilder b;
  b.sample({b.loc({"f"})}, {1, 2, 3, 4});
  auto r = computeTop(b.p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->sample_type, "inuse_space");
  EXPECT_EQ(r->total, 4);
  b.p.default_sample_type = "alloc_space";
  auto r2 = computeTop(b.p);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->sample_type, "alloc_space");
  EXPECT_EQ(r2->total, 2);
}

TEST(PprofTopTest, UnknownSampleTypeListsTheAvailableOnes) {
  HeapBuilder b;
  auto r = computeTop(b.p, "cpu");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("\"cpu\" not in profile"));
  EXPECT_THAT(r.error().message, HasSubstr("inuse_objects"));
  HeapProfile none;
  EXPECT_FALSE(computeTop(none).ok());
}

TEST(PprofTopTest, FramesWithoutFunctionsAreNamedAfterTheirBinary) {
  HeapBuilder b;
  auto nofn = b.loc({""});
  auto nolines = b.loc({});
  b.p.locations[nolines].mapping_index = ProfileLocation::kNoMapping;
  b.sample({nofn}, {0, 0, 2, 0});
  b.sample({nolines}, {0, 0, 1, 0});
  auto r = computeTop(b.p, "inuse_objects");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(names(*r), (std::vector<std::string>{"[target]", "<unknown>"}));
}

TEST(PprofTopTest, EmptyStacksCountInTheTotalOnly) {
  HeapBuilder b;
  b.sample({}, {0, 0, 4, 40});
  b.sample({b.loc({"f"})}, {0, 0, 1, 10});
  auto r = computeTop(b.p, "inuse_objects");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->total, 5);
  EXPECT_EQ(byName(*r)["f"], std::make_pair(std::int64_t{1}, std::int64_t{1}));
}

TEST(PprofTopTest, DiffIsCurrentMinusBasePerFunction) {
  HeapBuilder base;
  {
    auto leak = base.loc({"main.leak"});
    auto steady = base.loc({"main.steady"});
    auto gone = base.loc({"main.gone"});
    auto main = base.loc({"main.main"});
    base.sample({leak, main}, {0, 0, 100, 0});
    base.sample({steady, main}, {0, 0, 50, 0});
    base.sample({gone, main}, {0, 0, 20, 0});
  }
  HeapBuilder cur;
  {
    auto main = cur.loc({"main.main"});
    auto fresh = cur.loc({"main.fresh"});
    auto steady = cur.loc({"main.steady"});
    auto leak = cur.loc({"main.leak"});
    cur.sample({leak, main}, {0, 0, 1100, 0});
    cur.sample({steady, main}, {0, 0, 50, 0});
    cur.sample({fresh, main}, {0, 0, 7, 0});
  }
  auto r = computeDiff(base.p, cur.p, "inuse_objects");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->is_diff);
  EXPECT_EQ(r->total, 170);  // like pprof: the base's total
  // main.steady did not change at all and is left out.
  EXPECT_EQ(names(*r), (std::vector<std::string>{"main.leak", "main.gone", "main.fresh", "main.main"}));
  auto m = byName(*r);
  EXPECT_EQ(m["main.leak"], std::make_pair(std::int64_t{1000}, std::int64_t{1000}));
  EXPECT_EQ(m["main.gone"], std::make_pair(std::int64_t{-20}, std::int64_t{-20}));
  EXPECT_EQ(m["main.fresh"], std::make_pair(std::int64_t{7}, std::int64_t{7}));
  EXPECT_EQ(m["main.main"], std::make_pair(std::int64_t{0}, std::int64_t{987}));
}

TEST(PprofTopTest, DiffAgainstAnEmptyBaseUsesTheCurrentTotal) {
  HeapBuilder base;
  HeapBuilder cur;
  cur.sample({cur.loc({"f"})}, {0, 0, 3, 0});
  auto r = computeDiff(base.p, cur.p, "inuse_objects");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->total, 3);
}

TEST(PprofTopTest, DiffNeedsTheSameSampleTypeInBoth) {
  HeapBuilder base;
  base.p.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}};
  HeapBuilder cur;
  auto r = computeDiff(base.p, cur.p, "inuse_space");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("incompatible sample types: base profile has (samples, cpu)"));
}

TEST(PprofTopTest, DiffWithItselfIsEmptyEvenWithRepeatedTypeNames) {
  // Found by the fuzzer: two sample types of the same name must not pair different columns.
  HeapBuilder b;
  b.p.sample_types[3].type = "alloc_space";
  b.sample({b.loc({"f"})}, {1, 2, 3, 4});
  auto r = computeDiff(b.p, b.p);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->rows.empty());
}

TEST(PprofTopTest, ExtremeValuesDoNotOverflow) {
  HeapBuilder b;
  auto f = b.loc({"f"});
  b.sample({f}, {0, 0, INT64_MAX, 0});
  b.sample({f}, {0, 0, INT64_MAX, 0});
  b.sample({f}, {0, 0, INT64_MIN, 0});
  auto r = computeTop(b.p, "inuse_objects");
  ASSERT_TRUE(r.ok());  // wraps like Go; the point is no UB (run under UBSan)
  EXPECT_EQ(r->rows.size(), 1u);
}

}  // namespace
}  // namespace memstrain
