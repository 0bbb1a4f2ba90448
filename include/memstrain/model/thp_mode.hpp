#pragma once
// Transparent huge pages: the kernel's mode as plain data (proc/thp reads it). Under `always` a Go
// heap is backed by 2 MiB pages and memory the runtime gives back in smaller pieces can stay charged
// to the cgroup, so every report records it.

#include <string>

namespace memstrain {

/// The THP settings in force. Each is the word the kernel marks with brackets ("always",
/// "madvise", "never"; defrag also "defer", "defer+madvise"); empty when the file is missing.
struct ThpMode {
  std::string enabled;  ///< transparent_hugepage/enabled
  std::string defrag;   ///< transparent_hugepage/defrag
};

}  // namespace memstrain
