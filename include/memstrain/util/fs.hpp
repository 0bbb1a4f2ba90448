#pragma once
// File I/O at the boundary: every failure is an Error naming the path and the errno text.
// Parsing lives elsewhere and takes std::string_view.

#include <cstdint>
#include <string>
#include <string_view>

#include "memstrain/util/result.hpp"

namespace memstrain {

/// Default cap for files read from /proc and cgroupfs; their contents are a few KiB.
inline constexpr std::size_t kSmallFileCap = 1 << 20;

/// Reads a whole file, at most `max_bytes`. Returns an Error naming `path` when it cannot be opened
/// or read, or when it is larger than `max_bytes` (nothing is returned truncated).
Result<std::string> readFile(const std::string& path, std::size_t max_bytes = kSmallFileCap);

/// Writes `content` to an existing file (as cgroupfs control files want: open O_WRONLY, one write).
/// Returns an Error with the path, the value and errno when the kernel refuses it.
Status writeFile(const std::string& path, std::string_view content);

/// Creates or truncates `path` and writes `content` to it, via a temporary file and rename so that
/// readers never see half a file.
Status writeFileAtomic(const std::string& path, std::string_view content);

/// True when `path` exists (any type).
bool pathExists(const std::string& path);

/// Reads a file holding one unsigned integer (or "max"), as cgroup control files do.
/// "max" maps to UINT64_MAX.
Result<std::uint64_t> readUint64File(const std::string& path);

/// Joins two path pieces with exactly one '/' between them.
std::string joinPath(std::string_view a, std::string_view b);

}  // namespace memstrain
