#pragma once
// Host-wide memory pressure (PSI) from /proc/pressure/memory. Parsing is parsePsi
// (cgroup_parse.hpp, shared with cgroup v2's memory.pressure); this only reads.

#include <optional>
#include <string>

#include "memstrain/model/cgroup_sample.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

/// Reads and parses `proc_root`/pressure/memory. nullopt when the kernel has no PSI (the file is
/// missing, or present but disabled with psi=0: EOPNOTSUPP); an error when it cannot be read or
/// parsed.
Result<std::optional<Psi>> readSystemMemoryPressure(const std::string& proc_root = "/proc");

}  // namespace memstrain
