// The one policy for bytes memstrain did not produce (util/text sanitizeUntrusted), and JSON
// writers that cannot throw on them (util/json_write dumpJson).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "memstrain/util/json_write.hpp"
#include "memstrain/util/text.hpp"

namespace memstrain {
namespace {

using ::testing::HasSubstr;

// The body of the reproduction: a 500 from heap?debug=1.
const std::string kBroken = "\xff\xfe\xc3 broken \x80\x81 utf8 \xe2\x82";

TEST(UntrustedTextTest, ValidUtf8IsRecognised) {
  EXPECT_TRUE(isValidUtf8(""));
  EXPECT_TRUE(isValidUtf8("plain ascii"));
  EXPECT_TRUE(isValidUtf8("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // été € 😀
  EXPECT_FALSE(isValidUtf8(kBroken));
  EXPECT_FALSE(isValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(isValidUtf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(isValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(isValidUtf8("\xe2\x82"));          // cut short
  EXPECT_FALSE(isValidUtf8("\x80"));              // a stray continuation byte
}

TEST(UntrustedTextTest, BrokenBytesBecomeHexAndTheResultIsValidUtf8) {
  const std::string s = sanitizeUntrusted(kBroken);
  EXPECT_TRUE(isValidUtf8(s)) << s;
  EXPECT_EQ(s, "\\xff\\xfe\\xc3 broken \\x80\\x81 utf8 \\xe2\\x82");
}

TEST(UntrustedTextTest, ControlsNulAndEscapesAreShownNotPassedThrough) {
  const std::string in = std::string("a\0b", 3) + "\n\r\t\x1b[31mred\x7f \\x41";
  EXPECT_EQ(sanitizeUntrusted(in), "a\\x00b\\x0a\\x0d\\x09\\x1b[31mred\\x7f \\\\x41");
}

TEST(UntrustedTextTest, WellFormedTextStaysButTerminalTricksAreShown) {
  EXPECT_EQ(sanitizeUntrusted("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");
  // C1 CSI (U+009B), a right-to-left override (U+202E) and a line separator (U+2028).
  EXPECT_EQ(sanitizeUntrusted("\xc2\x9b"
                              "2J \xe2\x80\xae"
                              "abc \xe2\x80\xa8"),
            "\\u{009b}2J \\u{202e}abc \\u{2028}");
}

TEST(UntrustedTextTest, LongInputIsCutOnACharacterBoundaryWithWhatWasLeft) {
  const std::string in = std::string(10, 'x') + "\xc3\xa9" + std::string(100, 'y');
  const std::string s = sanitizeUntrusted(in, 11);  // the é would straddle the cap
  EXPECT_EQ(s, std::string(10, 'x') + "\xe2\x80\xa6(102 more bytes)");
  EXPECT_TRUE(isValidUtf8(s));
  // Work and output are bounded by the cap, not by the input.
  const std::string huge(64 << 20, '\xff');
  const std::string h = sanitizeUntrusted(huge, 200);
  EXPECT_LT(h.size(), 240u);
  EXPECT_THAT(h, HasSubstr("more bytes)"));
}

TEST(UntrustedTextTest, SanitisingTwiceOnlyEscapesTheBackslashes) {
  // The output is itself printable text: a second pass changes only the backslashes it added.
  const std::string once = sanitizeUntrusted(kBroken);
  EXPECT_EQ(sanitizeUntrusted(once, 1000).find("\\\\xff"), 0u);
}

TEST(JsonWriteTest, DumpOfInvalidUtf8DoesNotThrow) {
  nlohmann::json j = {{"message", kBroken}, {"n", 1}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);  // what killed the run in issue 15
  std::string out;
  ASSERT_NO_THROW(out = dumpJson(j));
  EXPECT_TRUE(isValidUtf8(out));
  const nlohmann::json back = nlohmann::json::parse(out);
  EXPECT_THAT(back["message"].get<std::string>(), HasSubstr(" broken "));
  EXPECT_EQ(back["n"], 1);
  const nlohmann::json plain = {{"a", "b"}};
  EXPECT_EQ(dumpJson(plain, 2), plain.dump(2));
}

}  // namespace
}  // namespace memstrain
