#include "memstrain/util/build_info.hpp"

#include <string_view>

namespace memstrain {

std::string shortCommit(const BuildInfo& info) {
  const std::string_view c = info.commit;
  if (c.empty() || c == "unknown") return "unknown";
  std::string out(c.substr(0, 12));
  if (info.dirty) out += "-dirty";
  return out;
}

}  // namespace memstrain
