#include "memstrain/proc/thp.hpp"

#include <cerrno>

#include "memstrain/util/fs.hpp"
#include "memstrain/util/text.hpp"

namespace memstrain {

Result<std::string> parseSysfsChoice(std::string_view text) {
  const auto open = text.find('[');
  const auto close = open == std::string_view::npos ? std::string_view::npos : text.find(']', open);
  if (close == std::string_view::npos || close == open + 1)
    return Error{"expected one [bracketed] word, got \"" + std::string(trim(text)) + "\""};
  if (text.find('[', open + 1) != std::string_view::npos)
    return Error{"more than one [bracketed] word in \"" + std::string(trim(text)) + "\""};
  return std::string(text.substr(open + 1, close - open - 1));
}

Result<std::optional<ThpMode>> readThpMode(const std::string& sys_root) {
  const std::string dir = joinPath(sys_root, "kernel/mm/transparent_hugepage");
  ThpMode mode;
  for (auto [name, field] : {std::pair{"enabled", &mode.enabled}, std::pair{"defrag", &mode.defrag}}) {
    const std::string path = joinPath(dir, name);
    auto text = readFile(path);
    if (!text) {
      if (text.error().sys_errno == ENOENT && !pathExists(dir)) return std::optional<ThpMode>();
      if (text.error().sys_errno == ENOENT) continue;
      return text.error();
    }
    auto word = parseSysfsChoice(*text);
    if (!word) return Error{path + ": " + word.error().message};
    *field = *word;
  }
  return std::optional<ThpMode>(mode);
}

}  // namespace memstrain
