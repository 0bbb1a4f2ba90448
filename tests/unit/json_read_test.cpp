#include "memstrain/util/json_read.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace memstrain::json_read {
namespace {

using nlohmann::json;

const json kDoc = json::parse(R"({
  "name": "hold", "n": 3, "neg": -2, "half": 2.5, "huge": 1e30, "flag": true, "nothing": null,
  "list": [1, 2], "obj": {"inner": {"v": 7}}, "not_list": {"a": 1}
})");

TEST(JsonRead, MissingKeysAndWrongTypesReadAsAbsent) {
  EXPECT_TRUE(at(kDoc, "absent").is_null());
  EXPECT_TRUE(at(json::array({1}), "name").is_null()) << "not an object";
  EXPECT_TRUE(at(at(kDoc, "absent"), "deeper").is_null()) << "chains through absence";
  EXPECT_EQ(num(at(at(kDoc, "obj"), "inner"), "v"), 7.0);
  EXPECT_FALSE(num(kDoc, "name").has_value());
  EXPECT_FALSE(num(kDoc, "nothing").has_value());
  EXPECT_FALSE(num(kDoc, "flag").has_value()) << "a bool is not a number";
  EXPECT_EQ(num(kDoc, "half"), 2.5);
}

TEST(JsonRead, ItemsIsAlwaysAnArray) {
  EXPECT_EQ(items(kDoc, "list").size(), 2U);
  EXPECT_TRUE(items(kDoc, "not_list").is_array());
  EXPECT_TRUE(items(kDoc, "not_list").empty()) << "an object is not iterated as items";
  EXPECT_TRUE(items(kDoc, "absent").empty());
  EXPECT_TRUE(items(json("text"), "list").empty());
}

TEST(JsonRead, U64TakesOnlyNonNegativeInRangeNumbers) {
  EXPECT_EQ(u64(kDoc, "n"), 3U);
  EXPECT_EQ(u64(kDoc, "half"), 2U) << "a float is truncated";
  EXPECT_FALSE(u64(kDoc, "neg").has_value());
  EXPECT_FALSE(u64(kDoc, "huge").has_value()) << "beyond uint64";
  EXPECT_FALSE(u64(kDoc, "name").has_value());
  EXPECT_FALSE(u64(kDoc, "nothing").has_value());
  EXPECT_EQ(u64(json(18446744073709551615ULL)), 18446744073709551615ULL);
  EXPECT_FALSE(u64(json(std::nan(""))).has_value());
}

TEST(JsonRead, StrGivesTextForScalarsAndEmptyOtherwise) {
  EXPECT_EQ(str(kDoc, "name"), "hold");
  EXPECT_EQ(str(kDoc, "n"), "3");
  EXPECT_EQ(str(kDoc, "neg"), "-2");
  EXPECT_EQ(str(kDoc, "half"), "2.5");
  EXPECT_EQ(str(kDoc, "flag"), "true");
  EXPECT_EQ(str(kDoc, "nothing"), "");
  EXPECT_EQ(str(kDoc, "list"), "");
  EXPECT_EQ(str(kDoc, "absent"), "");
}

}  // namespace
}  // namespace memstrain::json_read
