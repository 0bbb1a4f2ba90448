#include "memstrain/proc/proc_stat.hpp"

#include <time.h>
#include <unistd.h>

#include "memstrain/util/fs.hpp"
#include "memstrain/util/text.hpp"

namespace memstrain {

namespace {

// Fields 3.. of a stat line: the command name (field 2) may hold spaces and ')', so they are
// counted from its last ')'. Index 0 is field 3 (state).
Result<std::vector<std::string_view>> fieldsAfterName(std::string_view text, long ticks_per_s) {
  const auto close = text.rfind(')');
  if (close == std::string_view::npos || ticks_per_s <= 0) return Error{"stat: no command name in parentheses"};
  return splitFields(text.substr(close + 1));
}

}  // namespace

Result<ProcessCpu> parseProcStat(std::string_view text, long ticks_per_s) {
  auto parsed = fieldsAfterName(text, ticks_per_s);
  if (!parsed) return parsed.error();
  const auto& fields = *parsed;
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

Result<double> parseProcStartAfterBoot(std::string_view text, long ticks_per_s) {
  auto parsed = fieldsAfterName(text, ticks_per_s);
  if (!parsed) return parsed.error();
  constexpr std::size_t kStartTime = 22 - 3;
  if (parsed->size() <= kStartTime) return Error{"stat: too few fields for starttime"};
  auto v = parseUint64((*parsed)[kStartTime]);
  if (!v) return Error{"stat: starttime is not a number"};
  return static_cast<double>(*v) / static_cast<double>(ticks_per_s);
}

std::int64_t bootTimeToUnixNs(double start_after_boot_s, double boot_now_s, std::int64_t unix_now_ns) {
  return unix_now_ns - static_cast<std::int64_t>((boot_now_s - start_after_boot_s) * 1e9);
}

Result<std::int64_t> readProcessStartUnixNs(pid_t pid, const std::string& proc_root) {
  const std::string path = proc_root + "/" + std::to_string(pid) + "/stat";
  auto text = readFile(path, 4096);
  if (!text) return text.error();
  auto start = parseProcStartAfterBoot(*text, ::sysconf(_SC_CLK_TCK));
  if (!start) return Error{path + ": " + start.error().message};
  timespec boot{}, wall{};
  if (::clock_gettime(CLOCK_BOOTTIME, &boot) != 0 || ::clock_gettime(CLOCK_REALTIME, &wall) != 0) {
    return Error::fromErrno("clock_gettime");
  }
  const double boot_s = static_cast<double>(boot.tv_sec) + static_cast<double>(boot.tv_nsec) * 1e-9;
  const std::int64_t wall_ns = static_cast<std::int64_t>(wall.tv_sec) * 1'000'000'000 + wall.tv_nsec;
  return bootTimeToUnixNs(*start, boot_s, wall_ns);
}

double sumProcessCpuSeconds(const std::vector<pid_t>& pids, const std::string& proc_root) {
  double total = 0;
  for (pid_t p : pids) {
    if (auto c = readProcessCpu(p, proc_root)) total += c->total();
  }
  return total;
}

}  // namespace memstrain
