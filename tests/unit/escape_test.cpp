// One escaper per output format, each with its rule for what the format cannot carry.

#include "memstrain/report/escape.hpp"

#include <gtest/gtest.h>

namespace memstrain {
namespace {

TEST(Escape, HtmlTurnsSpecialsIntoEntitiesAndControlsIntoSpaces) {
  EXPECT_EQ(htmlEscape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(htmlEscape(std::string("a\tb\nc\x01"
                                   "d\x1f",
                                   8)),
            "a\tb\nc d ");
}

TEST(Escape, XmlTurnsSpecialsIntoEntitiesAndControlsIntoQuestionMarks) {
  EXPECT_EQ(xmlEscape("<x a='1'>&\"</x>"), "&lt;x a=&apos;1&apos;&gt;&amp;&quot;&lt;/x&gt;");
  EXPECT_EQ(xmlEscape(std::string("a\tb\nc\x02", 6)), "a\tb\nc?");
}

TEST(Escape, MarkdownKeepsACellOneCell) {
  EXPECT_EQ(markdownCell("a|b\r\nc"), "a\\|b  c");
  EXPECT_EQ(markdownCell("`code` **bold**"), "`code` **bold**");
}

TEST(Escape, PrometheusLabelValues) {
  EXPECT_EQ(prometheusLabel("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(prometheusLabel("plain {x}"), "plain {x}");
  EXPECT_EQ(prometheusHelp("a\\b \"q\"\nc"), "a\\\\b \"q\"\\nc");
}

}  // namespace
}  // namespace memstrain
