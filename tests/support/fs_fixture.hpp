#pragma once
// A directory tree declared in code and materialised under a fresh mkdtemp directory, removed again
// when the fixture is destroyed. For cgroup hierarchies, /proc trees and odd kernels:
//
//   using namespace memstrain::testing;
//   FsFixture fx({dir("cg", {file("memory.max", "max\n"),
//                            dir("app", {file("memory.max", "1048576\n"), file("cgroup.procs", "")})}),
//                 symlink("escape", "/etc")});
//   ASSERT_TRUE(fx.ok()) << fx.error();
//   CgroupFs fs(fx.path("cg"), CgroupVersion::kV2);
//
// Removal never follows symlinks and never leaves the fixture's file system.

#include <string>
#include <string_view>
#include <vector>

#include "memstrain/util/result.hpp"

namespace memstrain::testing {

/// One node of a declared tree. Build them with file(), dir() and symlink().
struct FsEntry {
  enum class Kind { kFile, kDir, kSymlink };
  Kind kind = Kind::kFile;
  std::string name;     ///< one path component: no '/', not "." or ".."
  std::string content;  ///< file bytes, or the symlink's target
  std::vector<FsEntry> children;
  unsigned mode = 0;  ///< permission bits; 0 means 0644 for files, 0755 for dirs
};

/// A regular file holding `content`.
FsEntry file(std::string name, std::string content, unsigned mode = 0);
/// A directory holding `children`.
FsEntry dir(std::string name, std::vector<FsEntry> children = {});
/// A symbolic link to `target` (relative or absolute; it need not exist).
FsEntry symlink(std::string name, std::string target);

class FsFixture {
 public:
  /// Creates a temp directory and the declared entries inside it. Check ok() before use.
  explicit FsFixture(const std::vector<FsEntry>& entries = {});
  ~FsFixture();
  FsFixture(const FsFixture&) = delete;
  FsFixture& operator=(const FsFixture&) = delete;

  /// False when the temp dir or an entry could not be created; error() says which and why.
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  /// The temp directory (absolute, symlinks resolved).
  const std::string& root() const { return root_; }
  /// root() joined with `rel` ("a/b" or "/a/b"); root() for "" or "/".
  std::string path(std::string_view rel) const;

  /// Materialises `entry` inside the existing directory `parent_rel` ("" for the root).
  Status add(std::string_view parent_rel, const FsEntry& entry) const;
  /// Replaces the bytes of the existing file at `rel` (as a test changing what a kernel shows).
  Status replace(std::string_view rel, std::string_view content) const;
  /// The bytes of the file at `rel`.
  Result<std::string> read(std::string_view rel) const;

 private:
  std::string root_;
  std::string error_;
};

}  // namespace memstrain::testing
