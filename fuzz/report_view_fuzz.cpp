// libFuzzer target: report.json through decodeReport, its one reader. `memstrain report` and
// `compare` read reports someone else may have written or cut short: no crash, no throw, and a
// view decoded from the same JSON re-serialised decodes to the same stages, checks and events.

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "memstrain/model/report_view.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  const memstrain::ReportView v = memstrain::decodeReport(j);
  const memstrain::ReportView again = memstrain::decodeReport(nlohmann::json::parse(j.dump()));
  if (v.stages.size() != again.stages.size() || v.checks.size() != again.checks.size() || v.events.size() != again.events.size()) {
    __builtin_trap();
  }
  for (std::size_t i = 0; i < v.stages.size(); ++i) {
    if (v.stages[i].name != again.stages[i].name || v.stages[i].latency.size() != again.stages[i].latency.size()) __builtin_trap();
  }
  if (v.verdict != again.verdict || v.schema_version != again.schema_version) __builtin_trap();
  return 0;
}
