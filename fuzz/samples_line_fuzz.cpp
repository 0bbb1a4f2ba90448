// libFuzzer target: samples.jsonl lines through decodeSampleLine, the one reader of the file's
// format. A report may be rendered from a samples file someone else wrote: no crash, no throw, and
// what decodes as a line decodes the same when read again after a blank line's worth of padding.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "memstrain/model/samples_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto line = memstrain::decodeSampleLine(in);
  // Surrounding whitespace never changes the outcome (the readers trim; a CRLF file must read alike).
  const auto padded = memstrain::decodeSampleLine(" " + std::string(in) + "\r\n");
  if (line.has_value() != padded.has_value()) __builtin_trap();
  if (line && line->index() != padded->index()) __builtin_trap();
  return 0;
}
