#include "memstrain/util/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

#include "memstrain/util/text.hpp"

namespace memstrain {

Result<std::string> readFile(const std::string& path, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::fromErrno("open " + path);
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Error e = Error::fromErrno("read " + path);
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      ::close(fd);
      return Error{path + ": file is larger than " + std::to_string(max_bytes) + " bytes"};
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
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

Status writeFileAtomic(const std::string& path, std::string_view content) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Error::fromErrno("create " + tmp);
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Error e = Error::fromErrno("write " + tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return e;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    Error e = Error::fromErrno("flush " + tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = Error::fromErrno("rename " + tmp + " to " + path);
    ::unlink(tmp.c_str());
    return e;
  }
  return {};
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
