#include "memstrain/proc/proc_pressure.hpp"

#include <cerrno>

#include "memstrain/cgroup/cgroup_parse.hpp"
#include "memstrain/util/fs.hpp"

namespace memstrain {

Result<std::optional<Psi>> readSystemMemoryPressure(const std::string& proc_root) {
  const std::string path = joinPath(proc_root, "pressure/memory");
  auto text = readFile(path);
  if (!text) {
    if (text.error().sys_errno == ENOENT || text.error().sys_errno == EOPNOTSUPP) return std::optional<Psi>();
    return text.error();
  }
  auto psi = parsePsi(*text);
  if (!psi) return Error{path + ": " + psi.error().message};
  return std::optional<Psi>(std::move(*psi));
}

}  // namespace memstrain
