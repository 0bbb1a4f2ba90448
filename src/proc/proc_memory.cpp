#include "memstrain/proc/proc_memory.hpp"

#include <cerrno>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>

#include "memstrain/util/fs.hpp"
#include "memstrain/util/text.hpp"

namespace memstrain {
namespace {

// Parses "Key:   1234 kB" lines (smaps_rollup, status, meminfo) and returns, in bytes, the keys
// asked for that are present. Lines without a colon (smaps_rollup's first line) and keys not asked
// for are skipped; an asked-for key whose value is not "<number> kB" (or a bare number) is an Error.
using KbFields = std::map<std::string, std::uint64_t, std::less<>>;

Result<KbFields> parseKbFields(std::string_view text, std::initializer_list<std::string_view> keys, std::string_view file) {
  KbFields out;
  const auto lines = splitLines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = trim(line.substr(0, colon));
    bool wanted = false;
    for (const auto& k : keys) wanted = wanted || k == key;
    if (!wanted) continue;
    const auto fields = splitFields(trim(line.substr(colon + 1)));
    std::optional<std::uint64_t> v;
    if (fields.size() == 2 && fields[1] == "kB") {
      v = parseUint64(fields[0]);
      if (v && __builtin_mul_overflow(*v, std::uint64_t{1024}, &*v)) v.reset();
    } else if (fields.size() == 1) {
      v = parseUint64(fields[0]);  // a count, not a size (none of the keys we read today)
    }
    if (!v) {
      std::string shown(line.substr(0, 80));
      for (char& c : shown) {
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
      }
      return Error{std::string(file) + ": line " + std::to_string(i + 1) + ": expected \"" + std::string(key) + ": <number> kB\", got \"" +
                   shown + "\""};
    }
    out[std::string(key)] = *v;
  }
  return out;
}

std::uint64_t getOr(const KbFields& m, std::string_view key, std::uint64_t fallback) {
  auto it = m.find(key);
  return it == m.end() ? fallback : it->second;
}

}  // namespace

Result<ProcessMemory> parseSmapsRollup(std::string_view text) {
  auto f = parseKbFields(text, {"Rss", "Anonymous", "LazyFree", "Swap", "AnonHugePages"}, "smaps_rollup");
  if (!f) return f.error();
  if (!f->count("Rss")) return Error{"smaps_rollup: no Rss line"};
  ProcessMemory m;
  m.rss_bytes = f->find("Rss")->second;
  m.anonymous_bytes = getOr(*f, "Anonymous", 0);
  if (auto it = f->find("LazyFree"); it != f->end()) m.lazyfree_bytes = it->second;
  m.swap_bytes = getOr(*f, "Swap", 0);
  if (auto it = f->find("AnonHugePages"); it != f->end()) m.anon_huge_bytes = it->second;
  return m;
}

Result<ProcessMemory> parseProcStatus(std::string_view text) {
  auto f = parseKbFields(text, {"VmRSS", "RssAnon", "VmSwap"}, "status");
  if (!f) return f.error();
  // Kernel threads and zombies have no VmRSS line.
  if (!f->count("VmRSS")) return Error{"status: no VmRSS line (a kernel thread or a zombie?)"};
  ProcessMemory m;
  m.rss_bytes = f->find("VmRSS")->second;
  m.anonymous_bytes = getOr(*f, "RssAnon", 0);
  m.swap_bytes = getOr(*f, "VmSwap", 0);
  return m;
}

Result<NodeMemory> parseMeminfo(std::string_view text) {
  auto f = parseKbFields(text, {"MemTotal", "MemAvailable", "MemFree", "Buffers", "Cached"}, "meminfo");
  if (!f) return f.error();
  if (!f->count("MemTotal")) return Error{"meminfo: no MemTotal line"};
  NodeMemory n;
  n.total_bytes = f->find("MemTotal")->second;
  if (f->count("MemAvailable")) {
    n.available_bytes = f->find("MemAvailable")->second;
  } else {
    // Before Linux 3.14 there is no MemAvailable; free + buffers + page cache is the usual estimate.
    n.available_bytes = getOr(*f, "MemFree", 0) + getOr(*f, "Buffers", 0) + getOr(*f, "Cached", 0);
  }
  return n;
}

Result<ProcessMemory> readProcessMemory(pid_t pid, const std::string& proc_root) {
  const std::string dir = joinPath(proc_root, std::to_string(pid));
  const std::string rollup_path = joinPath(dir, "smaps_rollup");
  auto rollup = readFile(rollup_path);
  if (rollup) {
    auto m = parseSmapsRollup(*rollup);
    if (!m) return Error{rollup_path + ": " + m.error().message};
    return m;
  }
  // Only a kernel without smaps_rollup (< 4.14) falls back; a vanished pid fails on status too.
  if (rollup.error().sys_errno != ENOENT) return rollup.error();
  const std::string status_path = joinPath(dir, "status");
  auto status = readFile(status_path);
  if (!status) return status.error();
  auto m = parseProcStatus(*status);
  if (!m) return Error{status_path + ": " + m.error().message};
  return m;
}

Result<ProcessMemory> readProcessMemoryCheap(pid_t pid, const std::string& proc_root) {
  const std::string status_path = joinPath(joinPath(proc_root, std::to_string(pid)), "status");
  auto status = readFile(status_path);
  if (!status) return status.error();
  auto m = parseProcStatus(*status);
  if (!m) return Error{status_path + ": " + m.error().message};
  return m;
}

Result<NodeMemory> readNodeMemory(const std::string& proc_root) {
  const std::string path = joinPath(proc_root, "meminfo");
  auto text = readFile(path);
  if (!text) return text.error();
  auto n = parseMeminfo(*text);
  if (!n) return Error{path + ": " + n.error().message};
  return n;
}

}  // namespace memstrain
