#include "support/promtool.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace memstrain {

bool promtoolAvailable() { return std::system("command -v promtool >/dev/null 2>&1") == 0; }

std::string promtoolProblems(const std::string& exposition) {
  char path[] = "/tmp/memstrain-promtool-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return "mkstemp failed";
  ::close(fd);
  std::ofstream(path) << exposition;
  const std::string cmd = std::string("promtool check metrics < ") + path + " 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return "popen failed";
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = ::pclose(p);
  ::unlink(path);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 0 && out.empty()) return "";
  return "promtool exit " + std::to_string(code) + ": " + out;
}

}  // namespace memstrain
