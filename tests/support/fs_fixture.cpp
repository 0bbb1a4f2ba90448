#include "support/fs_fixture.hpp"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "memstrain/util/fs.hpp"

namespace memstrain::testing {
namespace {

Status validName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos || name.find('\0') != std::string::npos) {
    return Error{"fixture entry name \"" + name + "\" must be one path component", EINVAL};
  }
  return {};
}

Status writeNewFile(const std::string& path, const std::string& content, unsigned mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Error::fromErrno("create " + path);
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = Error::fromErrno("write " + path);
      ::close(fd);
      return e;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) return Error::fromErrno("close " + path);
  // The umask may have narrowed the mode; the declaration wins.
  if (::chmod(path.c_str(), mode) != 0) return Error::fromErrno("chmod " + path);
  return {};
}

Status materialise(const std::string& parent, const FsEntry& e) {
  if (auto st = validName(e.name); !st) return st;
  const std::string path = joinPath(parent, e.name);
  switch (e.kind) {
    case FsEntry::Kind::kFile: return writeNewFile(path, e.content, e.mode != 0 ? e.mode : 0644);
    case FsEntry::Kind::kSymlink:
      if (::symlink(e.content.c_str(), path.c_str()) != 0) return Error::fromErrno("symlink " + path);
      return {};
    case FsEntry::Kind::kDir:
      if (::mkdir(path.c_str(), e.mode != 0 ? e.mode : 0755) != 0) return Error::fromErrno("mkdir " + path);
      for (const auto& child : e.children) {
        if (auto st = materialise(path, child); !st) return st;
      }
      return {};
  }
  return Error{"fixture entry " + path + ": unknown kind", EINVAL};
}

int removeOne(const char* path, const struct stat* /*st*/, int /*flag*/, struct FTW* /*ftw*/) {
  // Best effort: a failure leaves the rest of the tree to be tried.
  (void)::remove(path);
  return 0;
}

}  // namespace

FsEntry file(std::string name, std::string content, unsigned mode) {
  return FsEntry{FsEntry::Kind::kFile, std::move(name), std::move(content), {}, mode};
}

FsEntry dir(std::string name, std::vector<FsEntry> children) {
  return FsEntry{FsEntry::Kind::kDir, std::move(name), {}, std::move(children), 0};
}

FsEntry symlink(std::string name, std::string target) {
  return FsEntry{FsEntry::Kind::kSymlink, std::move(name), std::move(target), {}, 0};
}

FsFixture::FsFixture(const std::vector<FsEntry>& entries) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = joinPath(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "memstrain-fixture-XXXXXX");
  if (::mkdtemp(templ.data()) == nullptr) {
    error_ = Error::fromErrno("mkdtemp " + templ).message;
    return;
  }
  // Resolved, so that tests comparing realpath() results (absPath's symlink check) see one spelling.
  std::unique_ptr<char, void (*)(void*)> real(::realpath(templ.c_str(), nullptr), &std::free);
  root_ = real ? std::string(real.get()) : templ;
  for (const auto& e : entries) {
    if (auto st = materialise(root_, e); !st) {
      error_ = st.error().message;
      return;
    }
  }
}

FsFixture::~FsFixture() {
  if (root_.empty()) return;
  // FTW_PHYS: a symlink is removed, never followed; FTW_MOUNT: never leave the file system.
  (void)::nftw(root_.c_str(), &removeOne, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

std::string FsFixture::path(std::string_view rel) const { return joinPath(root_, rel); }

Status FsFixture::add(std::string_view parent_rel, const FsEntry& entry) const {
  if (root_.empty()) return Error{"fixture has no root: " + error_};
  return materialise(path(parent_rel), entry);
}

Status FsFixture::replace(std::string_view rel, std::string_view content) const {
  const std::string p = path(rel);
  int fd = ::open(p.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return Error::fromErrno("open " + p);
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = Error::fromErrno("write " + p);
      ::close(fd);
      return e;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) return Error::fromErrno("close " + p);
  return {};
}

Result<std::string> FsFixture::read(std::string_view rel) const { return readFile(path(rel)); }

}  // namespace memstrain::testing
