#pragma once
// File I/O at the boundary: every failure is an Error naming the path and the errno text.
// Parsing lives elsewhere and takes std::string_view.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "memstrain/util/result.hpp"

namespace memstrain {

/// Default cap for files read from /proc and cgroupfs; their contents are a few KiB.
inline constexpr std::size_t kSmallFileCap = 1 << 20;

/// Reads a whole file, at most `max_bytes`. Returns an Error naming `path` when it cannot be opened
/// or read, or when it is larger than `max_bytes` (nothing is returned truncated).
Result<std::string> readFile(const std::string& path, std::size_t max_bytes = kSmallFileCap);

/// Reads from `fd` to its end, at most `max_bytes` (Error when there is more); `shown` names it.
Result<std::string> readFd(int fd, const std::string& shown, std::size_t max_bytes = kSmallFileCap);

/// Writes `content` to an existing file (as cgroupfs control files want: open O_WRONLY, one write).
/// Returns an Error with the path, the value and errno when the kernel refuses it.
Status writeFile(const std::string& path, std::string_view content);

/// Creates or replaces `path` with `content`, atomically and without following symlinks: the
/// directory part of `path` is opened once and everything happens relative to it (writeFileAtomicAt).
Status writeFileAtomic(const std::string& path, std::string_view content, mode_t mode = 0644);

/// An owned file descriptor, closed on destruction. -1 is "none".
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  /// Gives up ownership: the caller closes the returned fd.
  int release() { return std::exchange(fd_, -1); }
  void reset();

 private:
  int fd_ = -1;
};

/// A small file read again and again through one descriptor: a cgroup's usage at every control
/// tick, /proc/meminfo. Opening by path costs a path walk (and, for cgroup paths, memstrain's
/// symlink checks) each time; kernel files (seq_file) give fresh contents when read again from
/// offset 0. Opened at the first read; a failed read closes it and opens the path once more (the
/// file may have been replaced), then reports the error.
class RereadFile {
 public:
  explicit RereadFile(std::string path) : path_(std::move(path)) {}
  Result<std::string> read(std::size_t max_bytes = kSmallFileCap);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  UniqueFd fd_;
};

/// How far memstrain, running as root, trusts a directory it did not create before writing into it.
/// A directory memstrain created itself is trusted whatever this says.
enum class DirTrust {
  /// Journals: owned by memstrain's effective user, writable by no one else.
  kPrivate,
  /// --out and profiles/: owned by root, memstrain's effective user or the sudo user (SUDO_UID),
  /// and not writable by every user.
  kOutput,
  /// --textfile-dir: any owner (node_exporter's directory may belong to its own user), not
  /// writable by every user. Safe because every write into it is symlink-proof.
  kShared,
};

/// Why a directory with this owner and mode fails `trust`, or "" when it passes. Pure.
std::string dirTrustProblem(uid_t owner, mode_t mode, DirTrust trust, uid_t euid, std::optional<uid_t> sudo_uid);

/// Opens directory `path` for writing files into it, creating it (with `create_mode`, parents
/// too) when it is missing. The last component is opened with O_NOFOLLOW, so a symlink planted
/// where the directory should be is refused; a directory that already existed must pass `trust`.
/// `created` (optional) says whether this call made it. Error names the path and the reason.
Result<UniqueFd> openOutputDir(const std::string& path, DirTrust trust, mode_t create_mode = 0755, bool* created = nullptr);

/// Opens an existing directory `path` for writing files into it: the last component is not
/// followed (a symlink is refused) and the directory must pass `trust`. Error when it is missing.
Result<UniqueFd> openTrustedDir(const std::string& path, DirTrust trust);

/// Writes `content` to `name` inside the directory `dir_fd`, atomically and without following
/// symlinks: an unnamed O_TMPFILE file (or, where the file system has none, an O_EXCL file with
/// a random name) is written, fsynced, given `mode`, and renamed over `name`, so a symlink or
/// hard link planted at `name` is replaced, never written through, and no temporary name can be
/// guessed in advance. `shown` names the file in errors (default: `name`). `name` must be a
/// single path component.
Status writeFileAtomicAt(int dir_fd, const std::string& name, std::string_view content, mode_t mode = 0644, const std::string& shown = "");

/// Opens `name` inside `dir_fd` for appending (created with `mode` when missing) without following
/// a symlink, and refuses anything that is not a regular file (a planted FIFO or device). For logs.
Result<UniqueFd> openAppendAt(int dir_fd, const std::string& name, mode_t mode = 0644, const std::string& shown = "");

/// openAppendAt for a full path: the directory part is opened as given, the last component is
/// not followed.
Result<UniqueFd> openAppend(const std::string& path, mode_t mode = 0644);

/// True when `path` exists (any type).
bool pathExists(const std::string& path);

/// Reads a file holding one unsigned integer (or "max"), as cgroup control files do.
/// "max" maps to UINT64_MAX.
Result<std::uint64_t> readUint64File(const std::string& path);

/// Joins two path pieces with exactly one '/' between them.
std::string joinPath(std::string_view a, std::string_view b);

}  // namespace memstrain
