// Inputs the fuzz targets (fuzz/*_fuzz.cpp) found to crash a parser, kept as plain unit tests so that
// the fix stays fixed without a clang build. Each test names the target and what went wrong.

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "memstrain/plan/plan_parse.hpp"

namespace memstrain {
namespace {

using namespace std::string_view_literals;

// plan_parse_fuzz: a number past double's range is valid JSON syntax, so nlohmann throws
// out_of_range (406), not parse_error; it escaped parsePlan and ended the process (std::terminate
// in the fuzzer, exit 3 with "[json.exception.out_of_range.406]" from the CLI).
TEST(FuzzRegressionsTest, PlanWithNumberBeyondDoubleRangeIsAnIssueNotAnException) {
  // The fuzzer's input, byte for byte (note the embedded NUL after the number).
  const std::string_view found =
      "{\"name\":\"p\",\"target\":22222E2222222\x08\x00"
      "21e\"\"}}]ach\"10ms\",\"p{\"1%\"}}]}\n"sv;
  for (const std::string_view text : {found, R"({"name": 1e400})"sv, R"({"stages": [{"duration": -1e400}]})"sv}) {
    SCOPED_TRACE(std::string(text));
    std::vector<PlanIssue> issues;
    Result<Plan> plan(Error{"not run"});
    ASSERT_NO_THROW(plan = parsePlan(text, &issues));
    ASSERT_FALSE(plan.ok());
    ASSERT_EQ(issues.size(), 1u);
    EXPECT_EQ(issues[0].pointer, "/");
    EXPECT_NE(issues[0].message.find("number overflow"), std::string::npos) << issues[0].message;
  }
}

}  // namespace
}  // namespace memstrain
