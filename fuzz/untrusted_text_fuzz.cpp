// libFuzzer target: arbitrary bytes through the one policy for untrusted text (sanitizeUntrusted)
// and the non-throwing JSON writer.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "memstrain/util/json_write.hpp"
#include "memstrain/util/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t cap = size == 0 ? 0 : data[0] % 64;
  const std::string out = memstrain::sanitizeUntrusted(in, cap);
  // Valid UTF-8, one line, no control bytes, and bounded by the cap plus the "…(N more bytes)" tail.
  if (!memstrain::isValidUtf8(out)) __builtin_trap();
  for (unsigned char c : out) {
    if (c < 0x20 || c == 0x7f) __builtin_trap();
  }
  if (out.size() > cap + 40) __builtin_trap();
  // The whole input fits when the cap is large enough: nothing is lost, only escaped.
  const std::string full = memstrain::sanitizeUntrusted(in, 8 * size + 8);
  if (full.find("more bytes)") != std::string::npos && in.find("more bytes)") == std::string_view::npos) __builtin_trap();
  // isValidUtf8 agrees with nlohmann's strict serialiser, and dumpJson never throws.
  const nlohmann::json j = std::string(in);
  bool strict_ok = true;
  try {
    (void)j.dump();
  } catch (const nlohmann::json::type_error&) {
    strict_ok = false;
  }
  if (strict_ok != memstrain::isValidUtf8(in)) __builtin_trap();
  const std::string dumped = memstrain::dumpJson(j);
  if (!memstrain::isValidUtf8(dumped)) __builtin_trap();
  return 0;
}
