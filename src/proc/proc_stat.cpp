#include "memstrain/proc/proc_stat.hpp"

#include <unistd.h>

#include "memstrain/util/fs.hpp"
#include "memstrain/util/text.hpp"

namespace memstrain {

Result<ProcessCpu> parseProcStat(std::string_view text, long ticks_per_s) {
  const auto close = text.rfind(')');
  if (close == std::string_view::npos || ticks_per_s <= 0) return Error{"stat: no command name in parentheses"};
  // After ") " come fields 3.. : state(3) ppid(4) ... utime(14) stime(15).
  auto fields = splitFields(text.substr(close + 1));
  constexpr std::size_t kUtime = 14 - 3, kStime = 15 - 3;
  if (fields.size() <= kStime) return Error{"stat: too few fields"};
  auto u = parseUint64(fields[kUtime]);
  auto s = parseUint64(fields[kStime]);
  if (!u || !s) return Error{"stat: utime/stime are not numbers"};
  const double t = static_cast<double>(ticks_per_s);
  return ProcessCpu{static_cast<double>(*u) / t, static_cast<double>(*s) / t};
}

Result<ProcessCpu> readProcessCpu(pid_t pid, const std::string& proc_root) {
  const std::string path = proc_root + "/" + std::to_string(pid) + "/stat";
  auto text = readFile(path, 4096);
  if (!text) return text.error();
  auto r = parseProcStat(*text, ::sysconf(_SC_CLK_TCK));
  if (!r) return Error{path + ": " + r.error().message};
  return r;
}

double sumProcessCpuSeconds(const std::vector<pid_t>& pids, const std::string& proc_root) {
  double total = 0;
  for (pid_t p : pids) {
    if (auto c = readProcessCpu(p, proc_root)) total += c->total();
  }
  return total;
}

}  // namespace memstrain
