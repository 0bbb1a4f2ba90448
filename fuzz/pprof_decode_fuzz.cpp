// libFuzzer target: arbitrary bytes as a pprof body (gzip or bare protobuf). The decoder must
// return an Error or a profile whose every index is in range; top and diff then run over it, so a
// missed check shows up as an ASan/UBSan report rather than a wrong number.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "memstrain/pprof/pprof_decode.hpp"
#include "memstrain/pprof/pprof_top.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  memstrain::PprofLimits limits;
  limits.max_decompressed_bytes = 16u << 20;  // keep each run small; the cap logic is what we test
  auto profile = memstrain::decodeProfile(body, limits);
  if (!profile.ok()) return 0;
  for (const auto& type : profile->sample_types) {
    auto top = memstrain::computeTop(*profile, type.type);
    if (top.ok()) (void)memstrain::flatSum(*top, 10);
  }
  auto diff = memstrain::computeDiff(*profile, *profile);
  if (diff.ok() && !diff->rows.empty()) __builtin_trap();  // a profile minus itself is empty
  return 0;
}
