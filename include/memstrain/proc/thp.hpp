#pragma once
// Transparent huge pages: the kernel's mode, from /sys/kernel/mm/transparent_hugepage. It changes
// what a release looks like (under `always` a Go heap is backed by 2 MiB pages, and memory the
// runtime gives back in smaller pieces can stay charged to the cgroup), so every report records it.

#include <optional>
#include <string>
#include <string_view>

#include "memstrain/model/thp_mode.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

/// The bracketed word of a sysfs choice file ("always [madvise] never\n" -> "madvise"). Error when
/// there is no single bracketed word.
Result<std::string> parseSysfsChoice(std::string_view text);

/// Reads `sys_root`/kernel/mm/transparent_hugepage/{enabled,defrag}. nullopt when the kernel has no
/// THP (no such directory); an Error when a file exists but cannot be read or parsed.
Result<std::optional<ThpMode>> readThpMode(const std::string& sys_root = "/sys");

}  // namespace memstrain
