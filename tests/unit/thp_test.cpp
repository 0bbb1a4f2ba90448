#include "memstrain/proc/thp.hpp"

#include <gtest/gtest.h>

#include "support/fs_fixture.hpp"

namespace memstrain {
namespace {

using testing::dir;
using testing::file;
using testing::FsFixture;

TEST(ThpTest, TheBracketedWordIsTheMode) {
  EXPECT_EQ(parseSysfsChoice("always [madvise] never\n").valueOr("?"), "madvise");
  EXPECT_EQ(parseSysfsChoice("[always] madvise never").valueOr("?"), "always");
  EXPECT_EQ(parseSysfsChoice("always defer defer+madvise [madvise] never\n").valueOr("?"), "madvise");
  EXPECT_EQ(parseSysfsChoice("always defer [defer+madvise] madvise never\n").valueOr("?"), "defer+madvise");
  EXPECT_FALSE(parseSysfsChoice("always madvise never\n").ok());
  EXPECT_FALSE(parseSysfsChoice("[always] [madvise]\n").ok());
  EXPECT_FALSE(parseSysfsChoice("[] madvise\n").ok());
  EXPECT_FALSE(parseSysfsChoice("").ok());
}

TEST(ThpTest, ReadsEnabledAndDefragFromASysRoot) {
  FsFixture fx(
      {dir("sys",
           {dir("kernel", {dir("mm", {dir("transparent_hugepage", {file("enabled", "[always] madvise never\n"),
                                                                   file("defrag", "always defer defer+madvise [madvise] never\n")})})})})});
  ASSERT_TRUE(fx.ok()) << fx.error();
  auto m = readThpMode(fx.path("sys"));
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_TRUE(m->has_value());
  EXPECT_EQ((*m)->enabled, "always");
  EXPECT_EQ((*m)->defrag, "madvise");
}

TEST(ThpTest, NoThpDirectoryIsNoThpAndAGarbledFileIsAnError) {
  FsFixture none({dir("sys", {dir("kernel", {dir("mm")})})});
  ASSERT_TRUE(none.ok()) << none.error();
  auto m = readThpMode(none.path("sys"));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_FALSE(m->has_value());

  FsFixture odd({dir("sys", {dir("kernel", {dir("mm", {dir("transparent_hugepage", {file("enabled", "sometimes\n")})})})})});
  ASSERT_TRUE(odd.ok()) << odd.error();
  auto e = readThpMode(odd.path("sys"));
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("transparent_hugepage/enabled"), std::string::npos) << e.error().message;
}

}  // namespace
}  // namespace memstrain
