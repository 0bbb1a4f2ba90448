#include "memstrain/cgroup/cgroup_parse.hpp"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <optional>

#include "memstrain/util/text.hpp"

namespace memstrain {
namespace {

// At most 60 bytes of untrusted text, quoted, with control bytes escaped, for error messages.
std::string excerpt(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 60) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(text[i]);
    if (u < 0x20 || u >= 0x7f || text[i] == '"' || text[i] == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += text[i];
    }
  }
  return out + "\"";
}

std::string lineError(std::size_t line_index, std::string_view line, std::string_view expected) {
  return "line " + std::to_string(line_index + 1) + ": expected " + std::string(expected) + ", got " + excerpt(line);
}

// Parses "key value" lines (memory.stat, memory.events, memory.oom_control). Blank lines are
// skipped; anything else that is not a word and an unsigned number is an Error.
template <class Fn>
Status forEachKeyValue(std::string_view text, Fn&& fn) {
  const auto lines = splitLines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = trim(lines[i]);
    if (line.empty()) continue;
    const auto fields = splitFields(line);
    std::optional<std::uint64_t> value;
    if (fields.size() == 2) value = parseUint64(fields[1]);
    if (!value) return Error{lineError(i, line, "\"key <unsigned number>\"")};
    fn(fields[0], *value);
  }
  return {};
}

// Decodes the octal escapes the kernel uses in mountinfo ("\040" for a space).
std::string unescapeMountField(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto is_octal = [](char c) { return c >= '0' && c <= '7'; };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && is_octal(s[i + 1]) && is_octal(s[i + 2]) && is_octal(s[i + 3])) {
      const int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
      if (v <= 0xff) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::vector<std::string_view> splitOn(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto pos = s.find(sep);
    out.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) break;
    s.remove_prefix(pos + 1);
  }
  return out;
}

// Mount options of a v1 cgroup mount that are not controller names.
bool isV1MountFlag(std::string_view opt) {
  static constexpr std::string_view kFlags[] = {
      "rw",       "ro",      "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods", "nofavordynmods",
      "relatime", "noatime", "nosuid",   "nodev",          "noexec"};
  for (auto f : kFlags) {
    if (opt == f) return true;
  }
  // "release_agent=/x" is an option; "name=systemd" names a hierarchy as /proc/PID/cgroup does.
  return opt.find('=') != std::string_view::npos && !startsWith(opt, "name=");
}

Result<PsiLine> parsePsiFields(const std::vector<std::string_view>& fields, std::size_t line_index, std::string_view line) {
  PsiLine out;
  bool have10 = false, have60 = false, have300 = false, have_total = false;
  const std::string expected = "\"some|full avg10=<n> avg60=<n> avg300=<n> total=<n>\"";
  for (std::size_t k = 1; k < fields.size(); ++k) {
    const auto eq = fields[k].find('=');
    if (eq == std::string_view::npos) return Error{lineError(line_index, line, expected)};
    const std::string_view key = fields[k].substr(0, eq);
    const std::string_view value = fields[k].substr(eq + 1);
    if (key == "total") {
      auto v = parseUint64(value);
      if (!v) return Error{lineError(line_index, line, expected)};
      out.total_us = *v;
      have_total = true;
      continue;
    }
    double* slot = nullptr;
    if (key == "avg10") {
      slot = &out.avg10;
      have10 = true;
    } else if (key == "avg60") {
      slot = &out.avg60;
      have60 = true;
    } else if (key == "avg300") {
      slot = &out.avg300;
      have300 = true;
    } else {
      continue;  // a key a newer kernel added
    }
    auto v = parseDouble(value);
    if (!v || *v < 0) return Error{lineError(line_index, line, expected)};
    *slot = *v;
  }
  if (!have10 || !have60 || !have300 || !have_total) return Error{lineError(line_index, line, expected)};
  return out;
}

}  // namespace

Result<CgroupMemoryStat> parseMemoryStat(std::string_view text, CgroupVersion version) {
  CgroupMemoryStat st;
  auto parsed = forEachKeyValue(text, [&](std::string_view key, std::uint64_t v) { st.raw[std::string(key)] = v; });
  if (!parsed) return Error{"memory.stat: " + parsed.error().message};
  auto get = [&](const char* key) -> std::optional<std::uint64_t> {
    auto it = st.raw.find(key);
    if (it == st.raw.end()) return std::nullopt;
    return it->second;
  };
  if (version == CgroupVersion::kV1) {
    // total_* include descendants; the plain keys are this cgroup alone. Kernels have printed
    // total_* since 2.6.31, so the fallback is for hand-made trees.
    auto hier = [&](const char* total_key, const char* local_key) { return get(total_key).value_or(get(local_key).value_or(0)); };
    st.anon_bytes = hier("total_rss", "rss");
    st.file_bytes = hier("total_cache", "cache");
    st.active_file_bytes = hier("total_active_file", "active_file");
    st.inactive_file_bytes = hier("total_inactive_file", "inactive_file");
    st.shmem_bytes = hier("total_shmem", "shmem");
    st.anon_thp_bytes = hier("total_rss_huge", "rss_huge");
    auto hierOpt = [&](const char* total_key, const char* local_key) {
      auto v = get(total_key);
      return v ? v : get(local_key);
    };
    st.major_faults = hierOpt("total_pgmajfault", "pgmajfault");
    st.refaults_file = hierOpt("total_workingset_refault_file", "workingset_refault_file");
    if (!st.refaults_file) st.refaults_file = hierOpt("total_workingset_refault", "workingset_refault");
  } else {
    st.anon_bytes = get("anon").value_or(0);
    st.file_bytes = get("file").value_or(0);
    st.active_file_bytes = get("active_file").value_or(0);
    st.inactive_file_bytes = get("inactive_file").value_or(0);
    st.shmem_bytes = get("shmem").value_or(0);
    st.anon_thp_bytes = get("anon_thp").value_or(0);
    st.pglazyfree = get("pglazyfree");
    st.pglazyfreed = get("pglazyfreed");
    st.major_faults = get("pgmajfault");
    st.refaults_file = get("workingset_refault_file");
    if (!st.refaults_file) st.refaults_file = get("workingset_refault");
  }
  return st;
}

Result<std::uint64_t> parseOomControlKills(std::string_view text) {
  std::uint64_t kills = 0;
  auto parsed = forEachKeyValue(text, [&](std::string_view key, std::uint64_t v) {
    if (key == "oom_kill") kills = v;
  });
  if (!parsed) return Error{"memory.oom_control: " + parsed.error().message};
  return kills;
}

Status parseMemoryEvents(std::string_view text, CgroupSample& out) {
  std::uint64_t oom = 0, oom_kill = 0;
  auto parsed = forEachKeyValue(text, [&](std::string_view key, std::uint64_t v) {
    if (key == "oom") oom = v;
    if (key == "oom_kill") oom_kill = v;
  });
  if (!parsed) return Error{"memory.events: " + parsed.error().message};
  out.oom_count = oom;
  out.oom_kill_count = oom_kill;
  return {};
}

Result<Psi> parsePsi(std::string_view text) {
  Psi psi;
  bool have_some = false;
  const auto lines = splitLines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = trim(lines[i]);
    if (line.empty()) continue;
    const auto fields = splitFields(line);
    if (fields[0] != "some" && fields[0] != "full") continue;  // a kind a newer kernel added
    auto parsed = parsePsiFields(fields, i, line);
    if (!parsed) return Error{"pressure: " + parsed.error().message};
    if (fields[0] == "some") {
      psi.some = *parsed;
      have_some = true;
    } else {
      psi.full = *parsed;
    }
  }
  if (!have_some) return Error{"pressure: no \"some\" line in " + excerpt(text)};
  return psi;
}

Result<std::uint64_t> parseLimit(std::string_view text) {
  const std::string_view t = trim(text);
  if (t == "max") return kUnlimited;
  auto v = parseUint64(t);
  if (!v) return Error{"limit: expected a number of bytes or \"max\", got " + excerpt(t)};
  return *v >= kUnlimitedThreshold ? kUnlimited : *v;
}

Result<std::string> normalizeCgroupRel(std::string_view rel) {
  if (rel.empty() || rel.front() != '/') {
    return Error{"cgroup path " + excerpt(rel) + " must start with '/' (it is relative to the cgroup mount)", EINVAL};
  }
  if (rel.find('\0') != std::string_view::npos) {
    return Error{"cgroup path " + excerpt(rel) + " contains a NUL byte", EINVAL};
  }
  std::string out;
  for (std::string_view part : splitOn(rel.substr(1), '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") return Error{"cgroup path " + excerpt(rel) + " must not contain \"..\"", EINVAL};
    out += '/';
    out += part;
  }
  return out.empty() ? std::string("/") : out;
}

Result<std::vector<pid_t>> parsePidList(std::string_view text) {
  std::vector<pid_t> pids;
  const auto lines = splitLines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = trim(lines[i]);
    if (line.empty()) continue;
    auto v = parseUint64(line);
    if (!v || *v == 0 || *v > static_cast<std::uint64_t>(INT_MAX)) {
      return Error{"cgroup.procs: " + lineError(i, line, "a pid")};
    }
    pids.push_back(static_cast<pid_t>(*v));
  }
  return pids;
}

bool listsController(std::string_view text, std::string_view controller) {
  for (std::string_view line : splitLines(text)) {
    for (std::string_view f : splitFields(trim(line))) {
      if (f == controller) return true;
    }
  }
  return false;
}

Result<std::vector<ProcCgroupEntry>> parseProcCgroup(std::string_view text) {
  std::vector<ProcCgroupEntry> out;
  const auto lines = splitLines(text);
  const char* expected = "\"ID:CONTROLLERS:PATH\"";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    // The path may itself contain ':' and spaces, so only the first two colons split and only
    // a trailing '\r' is dropped.
    std::string_view line = lines[i];
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) continue;
    const auto c1 = line.find(':');
    const auto c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) return Error{"/proc/PID/cgroup: " + lineError(i, line, expected)};
    auto id = parseUint64(line.substr(0, c1));
    if (!id || *id > static_cast<std::uint64_t>(INT_MAX)) {
      return Error{"/proc/PID/cgroup: " + lineError(i, line, expected)};
    }
    ProcCgroupEntry e;
    e.hierarchy_id = static_cast<int>(*id);
    for (std::string_view c : splitOn(line.substr(c1 + 1, c2 - c1 - 1), ',')) {
      if (!c.empty()) e.controllers.emplace_back(c);
    }
    e.path = std::string(line.substr(c2 + 1));
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<CgroupMount>> parseCgroupMounts(std::string_view text) {
  std::vector<CgroupMount> out;
  const auto lines = splitLines(text);
  const char* expected = "a mountinfo line (\"ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS\")";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = trim(lines[i]);
    if (line.empty()) continue;
    const auto fields = splitFields(line);
    // Fields 1-6 are fixed, then zero or more optional fields, then "-", then 3 more.
    std::size_t sep = 6;
    while (sep < fields.size() && fields[sep] != "-") ++sep;
    if (fields.size() < 6 || sep + 2 >= fields.size()) {
      return Error{"mountinfo: " + lineError(i, line, expected)};
    }
    const std::string_view fstype = fields[sep + 1];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    CgroupMount m;
    m.root = unescapeMountField(fields[3]);
    m.mount_point = unescapeMountField(fields[4]);
    if (fstype == "cgroup2") {
      m.version = CgroupVersion::kV2;
    } else {
      m.version = CgroupVersion::kV1;
      const std::string_view super_opts = sep + 3 < fields.size() ? fields[sep + 3] : std::string_view();
      for (std::string_view opt : splitOn(super_opts, ',')) {
        if (!opt.empty() && !isV1MountFlag(opt)) m.controllers.emplace_back(opt);
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace memstrain
