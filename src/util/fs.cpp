#include "memstrain/util/fs.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "memstrain/util/text.hpp"

namespace memstrain {

Result<std::string> readFd(int fd, const std::string& shown, std::size_t max_bytes) {
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::fromErrno("read " + shown);
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      return Error{shown + ": file is larger than " + std::to_string(max_bytes) + " bytes"};
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

Result<std::string> readFile(const std::string& path, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::fromErrno("open " + path);
  auto r = readFd(fd, path, max_bytes);
  ::close(fd);
  return r;
}

Result<std::string> RereadFile::read(std::size_t max_bytes) {
  for (int attempt = 0;; ++attempt) {
    if (fd_.get() < 0) {
      fd_ = UniqueFd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd_.get() < 0) return Error::fromErrno("open " + path_);
    }
    Result<std::string> text =
        ::lseek(fd_.get(), 0, SEEK_SET) == 0 ? readFd(fd_.get(), path_, max_bytes) : Error::fromErrno("seek " + path_);
    if (text || attempt > 0) {
      if (!text) fd_.reset();
      return text;
    }
    fd_.reset();
  }
}

Status writeFile(const std::string& path, std::string_view content) {
  // O_TRUNC is a no-op on cgroupfs and keeps fixture files from keeping an old tail.
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return Error::fromErrno("open " + path + " for writing");
  ssize_t n;
  do {
    n = ::write(fd, content.data(), content.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0 || static_cast<std::size_t>(n) != content.size()) {
    Error e = Error::fromErrno("write \"" + std::string(trim(content)) + "\" to " + path, n < 0 ? errno : EIO);
    ::close(fd);
    return e;
  }
  if (::close(fd) != 0) return Error::fromErrno("close " + path);
  return {};
}

void UniqueFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {

// Splits "a/b/c" into ("a/b", "c"); "c" into (".", "c"); "/c" into ("/", "c").
std::pair<std::string, std::string> splitDirName(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

bool isPlainName(const std::string& name) { return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos; }

// 16 hex digits from the kernel's random pool: temporary names nobody can plant in advance.
std::string randomHex() {
  std::uint64_t v = 0;
  std::size_t got = 0;
  while (got < sizeof v) {
    const ssize_t n = ::getrandom(reinterpret_cast<char*>(&v) + got, sizeof v - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // No random pool: the clock and an address still make a name no one knows beforehand, and
      // O_EXCL refuses anything already there.
      v ^= static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^ reinterpret_cast<std::uintptr_t>(&v);
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string octalMode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

Status makeParents(const std::string& path) {
  std::size_t i = 0;
  while (true) {
    const std::size_t j = path.find('/', i);
    if (j == std::string::npos) return {};
    if (j > 0) {
      const std::string cur = path.substr(0, j);
      if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return Error::fromErrno("mkdir " + cur);
    }
    i = j + 1;
  }
}

}  // namespace

std::string dirTrustProblem(uid_t owner, mode_t mode, DirTrust trust, uid_t euid, std::optional<uid_t> sudo_uid) {
  if ((mode & S_IWOTH) != 0) {
    return "is writable by every user (mode " + octalMode(mode) +
           "): anyone could plant a file or symlink there for memstrain to write through; use a directory only root can write";
  }
  switch (trust) {
    case DirTrust::kPrivate:
      if (owner != euid) return "is owned by uid " + std::to_string(owner) + ", not by memstrain's user (uid " + std::to_string(euid) + ")";
      if ((mode & S_IWGRP) != 0) return "is writable by its group (mode " + octalMode(mode) + "); it must be writable by its owner only";
      return {};
    case DirTrust::kOutput:
      if (owner != 0 && owner != euid && !(sudo_uid && owner == *sudo_uid)) {
        return "is owned by uid " + std::to_string(owner) + ", not by root, memstrain's user or the sudo user";
      }
      return {};
    case DirTrust::kShared: return {};
  }
  return {};
}

namespace {

std::optional<uid_t> sudoUid() {
  const char* s = std::getenv("SUDO_UID");
  if (s == nullptr) return std::nullopt;
  auto v = parseUint64(s);
  if (!v || *v >= std::numeric_limits<uid_t>::max()) return std::nullopt;
  return static_cast<uid_t>(*v);
}

std::string trimmedDirPath(const std::string& path_in) {
  std::string path = path_in.empty() ? std::string(".") : path_in;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// Opens `path` as a directory without following its last component; `made` says memstrain just
// created it (then it must be memstrain's own), else it must pass `trust`.
Result<UniqueFd> openDirChecked(const std::string& path, DirTrust trust, bool made) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ELOOP || errno == ENOTDIR) {
      return Error{path + " is a symlink or not a directory; memstrain does not write through it", errno};
    }
    return Error::fromErrno("open directory " + path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::fromErrno("stat " + path);
  const uid_t euid = ::geteuid();
  if (made) {
    // Made by this call, yet someone else's: it was swapped between mkdir and open.
    if (st.st_uid != euid) return Error{path + " changed owner while memstrain created it; refusing to write into it", EPERM};
    return fd;
  }
  if (std::string why = dirTrustProblem(st.st_uid, st.st_mode, trust, euid, sudoUid()); !why.empty()) return Error{path + " " + why, EPERM};
  return fd;
}

}  // namespace

Result<UniqueFd> openOutputDir(const std::string& path_in, DirTrust trust, mode_t create_mode, bool* created) {
  const std::string path = trimmedDirPath(path_in);
  if (auto st = makeParents(path); !st) return st.error();
  const bool made = ::mkdir(path.c_str(), create_mode) == 0;
  if (!made && errno != EEXIST) return Error::fromErrno("mkdir " + path);
  if (created != nullptr) *created = made;
  return openDirChecked(path, trust, made);
}

Result<UniqueFd> openTrustedDir(const std::string& path_in, DirTrust trust) {
  return openDirChecked(trimmedDirPath(path_in), trust, false);
}

Status writeFileAtomicAt(int dir_fd, const std::string& name, std::string_view content, mode_t mode, const std::string& shown_in) {
  const std::string& shown = shown_in.empty() ? name : shown_in;
  if (!isPlainName(name)) return Error{shown + ": not a plain file name", EINVAL};
  std::string tmp;
  UniqueFd fd;
  for (int attempt = 0; attempt < 16 && fd.get() < 0; ++attempt) {
    tmp = "." + name + "." + randomHex() + ".tmp";
    fd = UniqueFd(::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777));
    if (fd.get() < 0 && errno != EEXIST) return Error::fromErrno("create a temporary file for " + shown);
  }
  if (fd.get() < 0) return Error{"create a temporary file for " + shown + ": 16 random names were taken", EEXIST};
  auto fail = [&](const std::string& what, int err) {
    fd.reset();
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    return Error::fromErrno(what + " " + shown, err);
  };
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  // The mode exactly, whatever the umask (journals are 0600).
  if (::fchmod(fd.get(), mode & 0777) != 0) return fail("chmod", errno);
  if (::fsync(fd.get()) != 0) return fail("flush", errno);
  if (::close(fd.release()) != 0) return fail("close", errno);
  if (::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0) return fail("rename a temporary file to", errno);
  return {};
}

Status writeFileAtomic(const std::string& path, std::string_view content, mode_t mode) {
  const auto [dir, name] = splitDirName(path);
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0) return Error::fromErrno("open directory " + dir + " for " + path);
  return writeFileAtomicAt(dfd.get(), name, content, mode, path);
}

Result<UniqueFd> openAppendAt(int dir_fd, const std::string& name, mode_t mode, const std::string& shown_in) {
  const std::string& shown = shown_in.empty() ? name : shown_in;
  if (!isPlainName(name)) return Error{shown + ": not a plain file name", EINVAL};
  // O_NONBLOCK: opening a planted FIFO for writing would otherwise wait for a reader.
  UniqueFd fd(::openat(dir_fd, name.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode & 0777));
  if (fd.get() < 0) {
    if (errno == ELOOP) return Error{shown + " is a symlink; memstrain does not write through it", ELOOP};
    return Error::fromErrno("open " + shown);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::fromErrno("stat " + shown);
  if (!S_ISREG(st.st_mode)) return Error{shown + " is not a regular file; memstrain does not write into it", EINVAL};
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) return Error::fromErrno("fcntl " + shown);
  return fd;
}

Result<UniqueFd> openAppend(const std::string& path, mode_t mode) {
  const auto [dir, name] = splitDirName(path);
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0) return Error::fromErrno("open directory " + dir + " for " + path);
  return openAppendAt(dfd.get(), name, mode, path);
}

bool pathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

Result<std::uint64_t> readUint64File(const std::string& path) {
  auto text = readFile(path);
  if (!text) return text.error();
  std::string_view t = trim(*text);
  if (t == "max") return std::numeric_limits<std::uint64_t>::max();
  auto v = parseUint64(t);
  if (!v) return Error{path + ": expected an unsigned integer, got \"" + std::string(t.substr(0, 40)) + "\""};
  return *v;
}

std::string joinPath(std::string_view a, std::string_view b) {
  std::string out(a);
  while (!out.empty() && out.back() == '/') out.pop_back();
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  if (b.empty()) return out.empty() ? "/" : out;
  out += '/';
  out += b;
  return out;
}

}  // namespace memstrain
