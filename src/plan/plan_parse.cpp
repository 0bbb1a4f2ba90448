#include "memstrain/plan/plan_parse.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <limits>
#include <set>
#include <sstream>

#include "memstrain/discovery/locate.hpp"
#include "memstrain/util/fs.hpp"
#include "memstrain/util/text.hpp"
#include "memstrain/util/units.hpp"

namespace memstrain {

using nlohmann::json;
using std::chrono::nanoseconds;

Result<std::vector<StatusRange>> parseStatusRanges(std::string_view text) {
  std::vector<StatusRange> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = text.find(',', pos);
    const std::string_view item = trim(text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    const std::size_t dash = item.find('-');
    const auto first = parseUint64(trim(item.substr(0, dash)));
    const auto last = dash == std::string_view::npos ? first : parseUint64(trim(item.substr(dash + 1)));
    if (!first || !last || *first < 100 || *last > 599 || *first > *last) {
      return Error{"expect_status: \"" + std::string(item) + "\": expected a status code 100..599 or an ascending range like \"200-299\""};
    }
    out.push_back(StatusRange{static_cast<int>(*first), static_cast<int>(*last)});
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

namespace {

constexpr int kMaxDepth = 32;
constexpr std::size_t kMaxStages = 256;
constexpr std::size_t kMaxChecks = 256;
constexpr std::size_t kMaxStringBytes = 4096;

std::string typeName(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "an unsupported value";
  }
}

// RFC 6901 escaping, plus control characters as \u00XX so that a NUL or a newline in a key cannot
// cut or forge a line of the error output.
std::string escapePointerToken(const std::string& key) {
  std::string out;
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

// Walks the document, recording issues with JSON pointers. Methods return nullopt (after recording
// an issue) when a value is missing or malformed; callers keep going so that all issues surface.
class Checker {
 public:
  explicit Checker(std::vector<PlanIssue>& issues) : issues_(issues) {}

  void issue(const std::string& ptr, std::string msg) { issues_.push_back({ptr.empty() ? "/" : ptr, std::move(msg)}); }

  // Records unknown keys of an object; `known` is the allowed set.
  bool checkObject(const json& j, const std::string& ptr, std::initializer_list<const char*> known) {
    if (!j.is_object()) {
      issue(ptr, "expected an object, got " + typeName(j));
      return false;
    }
    for (const auto& item : j.items()) {
      const std::string& key = item.key();
      bool ok = std::any_of(known.begin(), known.end(), [&key](const char* k) { return key == k; });
      if (!ok) {
        std::string list;
        for (const char* k : known) list += std::string(list.empty() ? "" : ", ") + k;
        issue(ptr + "/" + escapePointerToken(key), "unknown key (allowed here: " + list + ")");
      }
    }
    return true;
  }

  std::optional<std::string> str(const json& j, const std::string& ptr, std::size_t max_len = kMaxStringBytes) {
    if (!j.is_string()) {
      issue(ptr, "expected a string, got " + typeName(j));
      return std::nullopt;
    }
    const auto& s = j.get_ref<const std::string&>();
    if (s.size() > max_len) {
      issue(ptr, "string is longer than " + std::to_string(max_len) + " bytes");
      return std::nullopt;
    }
    if (s.find('\0') != std::string::npos) {
      issue(ptr, "string contains a NUL character");
      return std::nullopt;
    }
    return s;
  }

  std::optional<bool> boolean(const json& j, const std::string& ptr) {
    if (!j.is_boolean()) {
      issue(ptr, "expected true or false, got " + typeName(j));
      return std::nullopt;
    }
    return j.get<bool>();
  }

  std::optional<nanoseconds> duration(const json& j, const std::string& ptr, nanoseconds min, nanoseconds max) {
    auto s = str(j, ptr);
    if (!s) return std::nullopt;
    auto d = parseDuration(*s);
    if (!d) {
      issue(ptr, d.error().message);
      return std::nullopt;
    }
    if (*d < min || *d > max) {
      issue(ptr, "duration " + *s + " is out of range (" + formatDuration(min) + " to " + formatDuration(max) + ")");
      return std::nullopt;
    }
    return *d;
  }

  std::optional<std::uint64_t> size(const json& j, const std::string& ptr, std::uint64_t min, std::uint64_t max) {
    std::uint64_t v = 0;
    if (j.is_number_unsigned()) {
      v = j.get<std::uint64_t>();
    } else if (j.is_string()) {
      auto r = parseSize(j.get_ref<const std::string&>());
      if (!r) {
        issue(ptr, r.error().message);
        return std::nullopt;
      }
      v = *r;
    } else {
      issue(ptr, "expected a size like \"512MiB\", got " + typeName(j));
      return std::nullopt;
    }
    if (v < min || v > max) {
      issue(ptr, "size " + formatBytes(v) + " is out of range (" + formatBytes(min) + " to " + formatBytes(max) + ")");
      return std::nullopt;
    }
    return v;
  }

  std::optional<std::int64_t> integer(const json& j, const std::string& ptr, std::int64_t min, std::int64_t max) {
    if (!j.is_number_integer()) {
      issue(ptr, "expected an integer, got " + typeName(j));
      return std::nullopt;
    }
    if (j.is_number_unsigned() && j.get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
      issue(ptr, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return std::nullopt;
    }
    auto v = j.get<std::int64_t>();
    if (v < min || v > max) {
      issue(ptr, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + std::to_string(v));
      return std::nullopt;
    }
    return v;
  }

 private:
  std::vector<PlanIssue>& issues_;
};

bool validStageName(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  if (n == "." || n == "..") return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

bool validCgroupPath(const std::string& p) {
  if (p.empty() || p.front() != '/') return false;
  std::size_t i = 0;
  while (i <= p.size()) {
    std::size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string_view part(p.data() + i, j - i);
    // "..", "." and empty parts ("//") would let a path name the root or a parent in disguise.
    if (part == ".." || part == "." || (part.empty() && p != "/" && i != 0)) return false;
    i = j + 1;
  }
  return true;
}

void parseLaunch(Checker& c, const json& j, const std::string& ptr, LaunchSpec& out) {
  if (!c.checkObject(j, ptr, {"command", "env", "memory_limit", "ready_url", "ready_timeout", "workdir"})) return;
  if (!j.contains("command")) {
    c.issue(ptr + "/command", "required: the target's argv as an array of strings");
  } else if (!j["command"].is_array() || j["command"].empty()) {
    c.issue(ptr + "/command", "expected a non-empty array of strings, got " + typeName(j["command"]));
  } else {
    for (std::size_t i = 0; i < j["command"].size(); ++i) {
      if (auto s = c.str(j["command"][i], ptr + "/command/" + std::to_string(i))) out.command.push_back(*s);
    }
    if (!out.command.empty() && out.command[0].empty()) c.issue(ptr + "/command/0", "the program must not be empty");
  }
  if (j.contains("env")) {
    const json& env = j["env"];
    if (!env.is_object()) {
      c.issue(ptr + "/env", "expected an object of string values, got " + typeName(env));
    } else {
      for (const auto& [k, v] : env.items()) {
        std::string p = ptr + "/env/" + escapePointerToken(k);
        if (k.empty() || k.find('=') != std::string::npos) {
          c.issue(p, "environment variable names must be non-empty and contain no '='");
          continue;
        }
        if (auto s = c.str(v, p)) out.env[k] = *s;
      }
    }
  }
  if (!j.contains("memory_limit")) {
    c.issue(ptr + "/memory_limit", "required: the limit of the cgroup memstrain creates, e.g. \"512MiB\"");
  } else if (auto v = c.size(j["memory_limit"], ptr + "/memory_limit", 16ULL << 20, 1ULL << 50)) {
    out.memory_limit_bytes = *v;
  }
  if (j.contains("ready_url")) {
    if (auto s = c.str(j["ready_url"], ptr + "/ready_url")) {
      if (!startsWith(*s, "http://") && !startsWith(*s, "https://")) {
        c.issue(ptr + "/ready_url", "expected an http:// or https:// URL");
      } else {
        out.ready_url = *s;
      }
    }
  }
  if (j.contains("ready_timeout")) {
    if (auto d = c.duration(j["ready_timeout"], ptr + "/ready_timeout", std::chrono::milliseconds(100), std::chrono::minutes(10))) {
      out.ready_timeout = *d;
    }
  }
  if (j.contains("workdir")) {
    if (auto s = c.str(j["workdir"], ptr + "/workdir")) out.workdir = *s;
  }
}

void parseAttach(Checker& c, const json& j, const std::string& ptr, AttachSpec& out) {
  if (!c.checkObject(j, ptr, {"cgroup", "pid", "pod_uid", "container", "container_id"})) return;
  const int ways =
      (j.contains("cgroup") ? 1 : 0) + (j.contains("pid") ? 1 : 0) + (j.contains("pod_uid") || j.contains("container_id") ? 1 : 0);
  if (ways != 1) {
    c.issue(ptr,
            "give exactly one of \"cgroup\" (a path under the cgroup mount), \"pid\", or \"pod_uid\" and/or "
            "\"container_id\" (a Kubernetes pod or container on this node)");
    return;
  }
  if (j.contains("container") && !j.contains("pod_uid")) {
    c.issue(ptr + "/container", "a container name needs \"pod_uid\" (the name is only unique within a pod)");
  } else if (j.contains("container") && j.contains("container_id")) {
    c.issue(ptr + "/container", "give \"container\" or \"container_id\", not both");
  }
  if (j.contains("cgroup")) {
    if (auto s = c.str(j["cgroup"], ptr + "/cgroup")) {
      if (!validCgroupPath(*s)) {
        c.issue(ptr + "/cgroup", "expected an absolute path under the cgroup mount without \"..\", \".\" or \"//\", got \"" + *s + "\"");
      } else if (*s == "/") {
        c.issue(ptr + "/cgroup", "the root cgroup cannot be a target");
      } else {
        out.cgroup = *s;
      }
    }
  } else if (j.contains("pid")) {
    if (auto v = c.integer(j["pid"], ptr + "/pid", 2, 4194304)) out.pid = static_cast<pid_t>(*v);
  }
  if (j.contains("pod_uid")) {
    if (auto s = c.str(j["pod_uid"], ptr + "/pod_uid", 128)) {
      if (auto u = normalizePodUid(*s)) out.pod_uid = *u;
      // The raw value is not echoed: it may hold control characters.
      else
        c.issue(ptr + "/pod_uid", "expected the pod's metadata.uid (8-64 hex digits and '-', e.g. 0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b)");
    }
  }
  if (j.contains("container_id")) {
    if (auto s = c.str(j["container_id"], ptr + "/container_id", 128)) {
      if (auto id = normalizeContainerId(*s))
        out.container_id = *id;
      else
        c.issue(ptr + "/container_id",
                "expected a container id or a unique prefix of 12-64 hex digits, bare or as in "
                "status.containerStatuses[].containerID (containerd://..., cri-o://..., docker://...)");
    }
  }
  if (j.contains("container")) {
    if (auto s = c.str(j["container"], ptr + "/container", 253)) {
      // Kubernetes container names are DNS labels: lowercase alphanumerics and '-'.
      const bool label =
          !s->empty() && s->size() <= 63 && s->front() != '-' && s->back() != '-' &&
          std::all_of(s->begin(), s->end(), [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'; });
      if (!label)
        c.issue(ptr + "/container", "expected a Kubernetes container name (1-63 of [a-z0-9-]), got \"" + *s + "\"");
      else
        out.container = *s;
    }
  }
}

void parseProbe(Checker& c, const json& j, const std::string& ptr, ProbeSpec& out) {
  if (!c.checkObject(
          j, ptr, {"name", "url", "method", "headers", "body", "rate_per_s", "timeout", "expect_status", "max_in_flight", "concurrency"})) {
    return;
  }
  if (j.contains("name")) {
    if (auto n = c.str(j["name"], ptr + "/name", 64)) {
      if (!validStageName(*n)) c.issue(ptr + "/name", "probe names use 1-64 of [A-Za-z0-9._-], got \"" + *n + "\"");
      out.name = *n;
    }
  }
  if (!j.contains("url")) {
    c.issue(ptr + "/url", "required: the URL to probe, e.g. http://127.0.0.1:6060/work");
  } else if (auto u = c.str(j["url"], ptr + "/url")) {
    if (!startsWith(*u, "http://") && !startsWith(*u, "https://")) c.issue(ptr + "/url", "expected an http:// or https:// URL");
    out.url = *u;
  }
  if (j.contains("method")) {
    if (auto m = c.str(j["method"], ptr + "/method", 16)) {
      const bool token = !m->empty() && std::all_of(m->begin(), m->end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
      if (!token) c.issue(ptr + "/method", "expected an HTTP method such as \"GET\" or \"POST\"");
      out.method = *m;
    }
  }
  if (j.contains("headers")) {
    const json& h = j["headers"];
    if (!h.is_object()) {
      c.issue(ptr + "/headers", "expected an object of header names to string values, got " + typeName(h));
    } else {
      for (const auto& [k, v] : h.items()) {
        const std::string hp = ptr + "/headers/" + escapePointerToken(k);
        auto val = c.str(v, hp, 4096);
        if (!val) continue;
        const bool bad = k.empty() || k.find_first_of(":\r\n ") != std::string::npos || val->find_first_of("\r\n") != std::string::npos;
        if (bad)
          c.issue(hp, "header names have no ':', spaces or line breaks; values no line breaks");
        else
          out.headers.push_back(k + ": " + *val);
      }
    }
  }
  if (j.contains("body")) {
    if (auto b = c.str(j["body"], ptr + "/body", 1 << 16)) out.body = *b;
  }
  if (j.contains("rate_per_s")) {
    const json& r = j["rate_per_s"];
    if (!r.is_number() || r.get<double>() <= 0 || r.get<double>() > 100000) {
      c.issue(ptr + "/rate_per_s", "expected a number of requests per second above 0 and at most 100000");
    } else {
      out.rate_per_s = r.get<double>();
    }
  }
  if (j.contains("timeout")) {
    if (auto d = c.duration(j["timeout"], ptr + "/timeout", std::chrono::milliseconds(1), std::chrono::minutes(5))) out.timeout = *d;
  }
  if (j.contains("expect_status")) {
    const json& e = j["expect_status"];
    if (e.is_number_integer()) {
      out.expect_status = std::to_string(e.get<std::int64_t>());
    } else if (auto s = c.str(e, ptr + "/expect_status", 256)) {
      out.expect_status = *s;
    }
    if (auto r = parseStatusRanges(out.expect_status); !r) c.issue(ptr + "/expect_status", r.error().message);
  }
  if (j.contains("max_in_flight")) {
    if (auto v = c.integer(j["max_in_flight"], ptr + "/max_in_flight", 1, 100000)) out.max_in_flight = static_cast<std::size_t>(*v);
  }
  if (j.contains("concurrency")) {
    if (auto v = c.integer(j["concurrency"], ptr + "/concurrency", 0, 100000)) out.concurrency = static_cast<std::size_t>(*v);
  }
}

void parseTarget(Checker& c, const json& j, const std::string& ptr, TargetSpec& out) {
  if (!c.checkObject(j, ptr, {"launch", "attach", "pprof_url", "probe"})) return;
  if (j.contains("probe")) {
    const json& p = j["probe"];
    if (p.is_object()) {
      out.probes.emplace_back();
      parseProbe(c, p, ptr + "/probe", out.probes.back());
    } else if (p.is_array() && !p.empty() && p.size() <= 16) {
      std::set<std::string> names;
      for (std::size_t i = 0; i < p.size(); ++i) {
        out.probes.emplace_back();
        if (!p[i].contains("name") && p.size() > 1) out.probes.back().name = "probe" + std::to_string(i);
        parseProbe(c, p[i], ptr + "/probe/" + std::to_string(i), out.probes.back());
        if (!names.insert(out.probes.back().name).second) c.issue(ptr + "/probe/" + std::to_string(i) + "/name", "duplicate probe name");
      }
    } else {
      c.issue(ptr + "/probe", "expected a probe object or an array of 1 to 16 probes");
    }
  }
  if (j.contains("launch") == j.contains("attach")) {
    c.issue(ptr, "give exactly one of \"launch\" (memstrain starts the target) or \"attach\" (an existing cgroup or pid)");
  }
  if (j.contains("launch")) {
    out.launch.emplace();
    parseLaunch(c, j["launch"], ptr + "/launch", *out.launch);
  }
  if (j.contains("attach")) {
    out.attach.emplace();
    parseAttach(c, j["attach"], ptr + "/attach", *out.attach);
  }
  if (j.contains("pprof_url")) {
    if (auto s = c.str(j["pprof_url"], ptr + "/pprof_url")) {
      if (!startsWith(*s, "http://") && !startsWith(*s, "https://")) {
        c.issue(ptr + "/pprof_url", "expected an http:// URL such as http://127.0.0.1:6060/debug/pprof");
      } else {
        out.pprof_url = *s;
      }
    }
  }
}

void parsePressure(Checker& c, const json& j, const std::string& ptr, nanoseconds stage_duration, const SafetySpec& safety,
                   PressureSpec& out) {
  if (!c.checkObject(j, ptr, {"placement", "level", "size", "ramp", "allow_oom", "oom_score_adj"})) return;
  if (j.contains("placement")) {
    if (auto s = c.str(j["placement"], ptr + "/placement")) {
      if (*s == "inside")
        out.placement = Placement::kInside;
      else if (*s == "beside")
        out.placement = Placement::kBeside;
      else if (*s == "node")
        out.placement = Placement::kNode;
      else
        c.issue(ptr + "/placement", "expected \"inside\", \"beside\" or \"node\", got \"" + *s + "\"");
    }
  }
  const bool node = out.placement == Placement::kNode;
  if (j.contains("allow_oom")) {
    if (auto b = c.boolean(j["allow_oom"], ptr + "/allow_oom")) {
      // On the node, an OOM is the node's: never something a plan may ask for.
      if (*b && node)
        c.issue(ptr + "/allow_oom", "not allowed with \"placement\": \"node\" (a node-wide OOM is the outage memstrain must not cause)");
      else
        out.allow_oom = *b;
    }
  }
  if (j.contains("level") == j.contains("size")) {
    c.issue(ptr, "give exactly one of \"level\" (a percent of the effective limit, closed loop) or \"size\" (fixed bytes)");
  }
  if (j.contains("level")) {
    const json& l = j["level"];
    if (!l.is_string() || !looksLikePercent(l.get_ref<const std::string&>())) {
      c.issue(ptr + "/level",
              std::string(node ? "expected a percent of the node's MemTotal" : "expected a percent of the effective limit") +
                  " like \"80%\", got " + (l.is_string() ? "\"" + l.get<std::string>() + "\"" : typeName(l)));
    } else if (auto p = parsePercent(l.get_ref<const std::string&>()); !p) {
      c.issue(ptr + "/level", p.error().message);
    } else if (*p <= 0.0 || *p > 1.0) {
      c.issue(ptr + "/level", "must be above 0% and at most 100%");
    } else if (!node && *p > 1.0 - safety.margin_fraction && !out.allow_oom) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "%.1f%% is inside the %.1f%% safety margin below the limit; lower it or set \"allow_oom\": true",
                    *p * 100, safety.margin_fraction * 100);
      c.issue(ptr + "/level", buf);
    } else {
      out.level_fraction = *p;
    }
  }
  if (j.contains("size")) {
    if (auto v = c.size(j["size"], ptr + "/size", 1ULL << 20, 1ULL << 50)) out.size_bytes = *v;
  }
  if (j.contains("ramp")) {
    if (auto d = c.duration(j["ramp"], ptr + "/ramp", nanoseconds(0), std::chrono::hours(24))) {
      if (*d > stage_duration && stage_duration.count() > 0) {
        c.issue(ptr + "/ramp", "ramp " + formatDuration(*d) + " is longer than its stage (" + formatDuration(stage_duration) + ")");
      } else {
        out.ramp = *d;
      }
    }
  }
  if (j.contains("oom_score_adj")) {
    if (auto v = c.integer(j["oom_score_adj"], ptr + "/oom_score_adj", -1000, 1000)) out.oom_score_adj = static_cast<int>(*v);
  }
}

// safety.node_max (a percent of MemTotal, at most 95%) and safety.node_min_available (a percent of
// MemTotal or a size).
void parseNodeSafety(Checker& c, const json& s, SafetySpec& out) {
  if (s.contains("node_max")) {
    const json& m = s["node_max"];
    std::optional<double> p;
    if (m.is_string() && looksLikePercent(m.get_ref<const std::string&>())) {
      if (auto v = parsePercent(m.get_ref<const std::string&>())) p = *v;
    }
    if (!p || *p <= 0.0 || *p > 0.95) {
      c.issue("/safety/node_max",
              "expected a percent of the node's MemTotal above 0% and at most 95% like \"90%\" (above that takes `memstrain run --force`)");
    } else {
      out.node_max_fraction = *p;
    }
  }
  if (s.contains("node_min_available")) {
    const json& m = s["node_min_available"];
    const std::string ptr = "/safety/node_min_available";
    if (m.is_string() && looksLikePercent(m.get_ref<const std::string&>())) {
      auto p = parsePercent(m.get_ref<const std::string&>());
      if (!p || *p < 0.01 || *p > 0.5)
        c.issue(ptr, "expected a percent of MemTotal between 1% and 50%, or a size like \"1GiB\"");
      else
        out.node_min_available_fraction = *p;
    } else if (auto v = c.size(m, ptr, 64ULL << 20, 1ULL << 50)) {
      out.node_min_available_bytes = *v;
    }
  }
}

void parseActions(Checker& c, const json& j, const std::string& ptr, nanoseconds stage_duration, std::vector<StageAction>& out) {
  if (!j.is_array()) {
    c.issue(ptr, "expected an array of actions, got " + typeName(j));
    return;
  }
  if (j.size() > 64) {
    c.issue(ptr, "at most 64 actions per stage");
    return;
  }
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string ap = ptr + "/" + std::to_string(i);
    const json& a = j[i];
    if (!c.checkObject(a, ap, {"at", "method", "url", "body", "timeout"})) continue;
    StageAction act;
    if (a.contains("at")) {
      if (auto d = c.duration(a["at"], ap + "/at", nanoseconds(0), std::chrono::hours(24))) {
        if (stage_duration.count() > 0 && *d >= stage_duration) {
          c.issue(ap + "/at", "must be before the end of its stage (" + formatDuration(stage_duration) + ")");
        }
        act.at = *d;
      }
    }
    if (a.contains("method")) {
      if (auto m = c.str(a["method"], ap + "/method")) {
        if (*m != "GET" && *m != "POST") c.issue(ap + "/method", "expected \"GET\" or \"POST\", got \"" + *m + "\"");
        act.method = *m;
      }
    }
    if (!a.contains("url")) {
      c.issue(ap + "/url", "required: the URL to request");
    } else if (auto u = c.str(a["url"], ap + "/url")) {
      if (!startsWith(*u, "http://") && !startsWith(*u, "https://")) c.issue(ap + "/url", "expected an http:// URL");
      act.url = *u;
    }
    if (a.contains("body")) {
      if (auto b = c.str(a["body"], ap + "/body", 1 << 16)) act.body = *b;
    }
    if (a.contains("timeout")) {
      if (auto d = c.duration(a["timeout"], ap + "/timeout", std::chrono::milliseconds(10), std::chrono::minutes(5))) act.timeout = *d;
    }
    out.push_back(std::move(act));
  }
  std::stable_sort(out.begin(), out.end(), [](const StageAction& x, const StageAction& y) { return x.at < y.at; });
}

// Signals a release trigger may send: the user-defined ones. SIGTERM and friends would end the
// target, and Go's default action for SIGUSR1/2 also ends it unless the target handles them.
std::optional<int> releaseSignal(const std::string& name) {
  if (name == "SIGUSR1" || name == "USR1") return SIGUSR1;
  if (name == "SIGUSR2" || name == "USR2") return SIGUSR2;
  return std::nullopt;
}

void parseRelease(Checker& c, const json& j, const std::string& ptr, nanoseconds stage_duration, ReleaseSpec& out) {
  if (!c.checkObject(j, ptr, {"trigger", "expect", "reclaim"})) return;
  if (j.contains("trigger")) {
    const std::string tp = ptr + "/trigger";
    const json& t = j["trigger"];
    if (c.checkObject(t, tp, {"url", "method", "signal", "command", "at", "timeout"})) {
      ReleaseTrigger trig;
      const int kinds = (t.contains("url") ? 1 : 0) + (t.contains("signal") ? 1 : 0) + (t.contains("command") ? 1 : 0);
      if (kinds != 1)
        c.issue(tp,
                "give exactly one of \"url\" (an HTTP request), \"signal\" (\"SIGUSR1\" or \"SIGUSR2\") or \"command\" (an argv array)");
      if (t.contains("url")) {
        trig.kind = ReleaseTrigger::Kind::kHttp;
        if (auto u = c.str(t["url"], tp + "/url")) {
          if (!startsWith(*u, "http://") && !startsWith(*u, "https://"))
            c.issue(tp + "/url", "expected an http:// URL such as http://127.0.0.1:6060/debug/free");
          trig.url = *u;
        }
      }
      if (t.contains("method")) {
        if (!t.contains("url")) c.issue(tp + "/method", "only an HTTP trigger (\"url\") has a method");
        if (auto m = c.str(t["method"], tp + "/method")) {
          if (*m != "GET" && *m != "POST") c.issue(tp + "/method", "expected \"GET\" or \"POST\", got \"" + *m + "\"");
          trig.method = *m;
        }
      }
      if (t.contains("signal")) {
        trig.kind = ReleaseTrigger::Kind::kSignal;
        if (auto sname = c.str(t["signal"], tp + "/signal", 16)) {
          if (auto sig = releaseSignal(*sname))
            trig.signal = *sig;
          else
            c.issue(tp + "/signal", "expected \"SIGUSR1\" or \"SIGUSR2\" (the target must handle it), got \"" + *sname + "\"");
        }
      }
      if (t.contains("command")) {
        trig.kind = ReleaseTrigger::Kind::kCommand;
        const json& cmd = t["command"];
        if (!cmd.is_array() || cmd.empty() || cmd.size() > 256) {
          c.issue(tp + "/command", "expected a non-empty array of strings (argv), got " + typeName(cmd));
        } else {
          for (std::size_t i = 0; i < cmd.size(); ++i) {
            if (auto a = c.str(cmd[i], tp + "/command/" + std::to_string(i))) trig.command.push_back(*a);
          }
          if (!trig.command.empty() && trig.command[0].empty()) c.issue(tp + "/command/0", "the program must not be empty");
        }
      }
      if (t.contains("at")) {
        if (auto d = c.duration(t["at"], tp + "/at", nanoseconds(0), std::chrono::hours(24))) trig.at = *d;
      }
      if (t.contains("timeout")) {
        if (t.contains("signal")) c.issue(tp + "/timeout", "a signal trigger has no timeout");
        if (auto d = c.duration(t["timeout"], tp + "/timeout", std::chrono::milliseconds(10), std::chrono::minutes(5))) trig.timeout = *d;
      }
      out.trigger = std::move(trig);
    }
  }
  if (j.contains("expect")) {
    const std::string ep = ptr + "/expect";
    const json& e = j["expect"];
    if (c.checkObject(e, ep, {"returned_ratio", "within"})) {
      if (e.contains("returned_ratio")) {
        const json& r = e["returned_ratio"];
        std::optional<double> v;
        if (r.is_number())
          v = r.get<double>();
        else if (r.is_string() && looksLikePercent(r.get_ref<const std::string&>())) {
          if (auto p = parsePercent(r.get_ref<const std::string&>())) v = *p;
        }
        if (!v || !std::isfinite(*v) || *v <= 0 || *v > 1) {
          c.issue(ep + "/returned_ratio", "expected a fraction above 0 and at most 1 like 0.8, or a percent like \"80%\"");
        } else {
          out.returned_ratio = *v;
        }
      }
      if (e.contains("within")) {
        if (auto d = c.duration(e["within"], ep + "/within", std::chrono::milliseconds(100), std::chrono::hours(1))) out.within = *d;
      }
    }
  }
  if (j.contains("reclaim")) {
    const std::string rp = ptr + "/reclaim";
    const json& r = j["reclaim"];
    if (c.checkObject(r, rp, {"duration", "size"})) {
      ReclaimSpec rs;
      if (r.contains("duration")) {
        if (auto d = c.duration(r["duration"], rp + "/duration", std::chrono::milliseconds(500), std::chrono::hours(1))) rs.duration = *d;
      }
      if (r.contains("size")) {
        if (auto v = c.size(r["size"], rp + "/size", 1ULL << 20, 1ULL << 50)) rs.size_bytes = *v;
      }
      out.reclaim = rs;
    }
  }
  // The window must fit the stage: trigger offset, then `within`, then the reclaim phase.
  const nanoseconds need =
      (out.trigger ? out.trigger->at : nanoseconds(0)) + out.within + (out.reclaim ? out.reclaim->duration : nanoseconds(0));
  if (stage_duration.count() > 0 && need > stage_duration) {
    c.issue(ptr, "the release window (trigger at " + formatDuration(out.trigger ? out.trigger->at : nanoseconds(0)) + " + within " +
                     formatDuration(out.within) + (out.reclaim ? " + reclaim " + formatDuration(out.reclaim->duration) : std::string()) +
                     ") is longer than its stage (" + formatDuration(stage_duration) + ")");
  }
}

void parseStages(Checker& c, const json& j, const std::string& ptr, const SafetySpec& safety, std::vector<StageSpec>& out) {
  if (!j.is_array()) {
    c.issue(ptr, "expected an array of stages, got " + typeName(j));
    return;
  }
  if (j.empty()) {
    c.issue(ptr, "a plan needs at least one stage");
    return;
  }
  if (j.size() > kMaxStages) {
    c.issue(ptr, "at most " + std::to_string(kMaxStages) + " stages are allowed, got " + std::to_string(j.size()));
    return;
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string sp = ptr + "/" + std::to_string(i);
    const json& s = j[i];
    if (!c.checkObject(s, sp, {"name", "duration", "pressure", "description", "actions", "release"})) continue;
    StageSpec st;
    if (!s.contains("name")) {
      c.issue(sp + "/name", "required: a stage name such as \"baseline\"");
    } else if (auto n = c.str(s["name"], sp + "/name")) {
      if (!validStageName(*n)) {
        c.issue(sp + "/name", "stage names use 1-64 of [A-Za-z0-9._-] (they name files), got \"" + *n + "\"");
      } else if (!names.insert(*n).second) {
        c.issue(sp + "/name", "duplicate stage name \"" + *n + "\"");
      } else {
        st.name = *n;
      }
    }
    if (!s.contains("duration")) {
      c.issue(sp + "/duration", "required: how long the stage lasts, e.g. \"30s\"");
    } else if (auto d = c.duration(s["duration"], sp + "/duration", std::chrono::milliseconds(100), std::chrono::hours(24))) {
      st.duration = *d;
    }
    if (s.contains("description")) (void)c.str(s["description"], sp + "/description");
    if (s.contains("pressure")) {
      st.pressure.emplace();
      parsePressure(c, s["pressure"], sp + "/pressure", st.duration, safety, *st.pressure);
    }
    if (s.contains("actions")) parseActions(c, s["actions"], sp + "/actions", st.duration, st.actions);
    if (s.contains("release")) {
      st.release.emplace();
      parseRelease(c, s["release"], sp + "/release", st.duration, *st.release);
      if (s.contains("pressure")) {
        c.issue(sp + "/pressure",
                "a release stage applies no pressure of its own (it would hide the target's release); use \"reclaim\" in /release");
      }
    }
    out.push_back(std::move(st));
  }
}

void parsePprof(Checker& c, const json& j, const std::string& ptr, PprofSpec& out) {
  if (!c.checkObject(j, ptr, {"gc", "timeout", "max_body", "max_decompressed", "snapshot_on_growth", "diff_top"})) return;
  if (j.contains("gc")) {
    if (auto b = c.boolean(j["gc"], ptr + "/gc")) out.gc_before_heap = *b;
  }
  if (j.contains("timeout")) {
    if (auto d = c.duration(j["timeout"], ptr + "/timeout", std::chrono::milliseconds(50), std::chrono::minutes(1))) out.timeout = *d;
  }
  if (j.contains("max_body")) {
    if (auto v = c.size(j["max_body"], ptr + "/max_body", 1ULL << 16, 1ULL << 32)) out.max_body_bytes = *v;
  }
  if (j.contains("max_decompressed")) {
    if (auto v = c.size(j["max_decompressed"], ptr + "/max_decompressed", 1ULL << 16, 4ULL << 30)) out.max_decompressed_bytes = *v;
  }
  if (j.contains("diff_top")) {
    if (auto v = c.integer(j["diff_top"], ptr + "/diff_top", 1, 1000)) out.diff_top = static_cast<std::size_t>(*v);
  }
  if (j.contains("snapshot_on_growth")) {
    const std::string gp = ptr + "/snapshot_on_growth";
    const json& g = j["snapshot_on_growth"];
    if (!c.checkObject(g, gp, {"objects", "percent", "window"})) return;
    if (!g.contains("objects") && !g.contains("percent")) c.issue(gp, "give \"objects\" (a count) and/or \"percent\" (like \"50%\")");
    if (g.contains("objects")) {
      if (auto v = c.integer(g["objects"], gp + "/objects", 1, std::int64_t{1} << 50)) out.growth_objects = static_cast<std::uint64_t>(*v);
    }
    if (g.contains("percent")) {
      const json& pc = g["percent"];
      auto p = pc.is_string() ? parsePercent(pc.get_ref<const std::string&>()) : Result<double>(Error{"expected a percent like \"50%\""});
      if (!p || *p <= 0)
        c.issue(gp + "/percent", p ? "must be above 0%" : p.error().message);
      else
        out.growth_fraction = *p;
    }
    if (g.contains("window")) {
      if (auto d = c.duration(g["window"], gp + "/window", std::chrono::milliseconds(100), std::chrono::hours(1))) out.growth_window = *d;
    }
  }
}

// Reads a limit written in the metric's unit into its canonical unit (ns, bytes, /s, count,
// fraction). Returns the Error text to report when the text does not fit the unit.
Result<double> parseMetricValue(MetricUnit unit, const json& j) {
  const bool is_num = j.is_number();
  const std::string text = j.is_string() ? j.get<std::string>() : std::string();
  if (!is_num && !j.is_string()) return Error{"expected a number or a string, got " + typeName(j)};
  auto finiteNumber = [](const std::string& s) -> std::optional<double> {
    auto v = parseDouble(trim(s));
    if (!v || !std::isfinite(*v)) return std::nullopt;
    return v;
  };
  switch (unit) {
    case MetricUnit::kDuration: {
      if (is_num && j.get<double>() == 0) return 0.0;
      if (is_num) return Error{"expected a duration like \"250ms\" (the unit is required), got a number"};
      auto d = parseDuration(text);
      if (!d) return Error{d.error().message};
      return static_cast<double>(d->count());
    }
    case MetricUnit::kBytes: {
      if (is_num) {
        if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<std::int64_t>() == 0)) {
          return Error{"expected a size like \"400MiB\" or a whole number of bytes"};
        }
        return static_cast<double>(j.get<std::uint64_t>());
      }
      auto b = parseSize(text);
      if (!b) return Error{b.error().message};
      return static_cast<double>(*b);
    }
    case MetricUnit::kRate: {
      if (is_num) return j.get<double>();
      std::string_view t = trim(text);
      if (t.size() > 2 && t.substr(t.size() - 2) == "/s") t.remove_suffix(2);
      if (auto v = finiteNumber(std::string(t))) return *v;
      return Error{"expected a rate like \"2000/s\" or a number, got \"" + text + "\""};
    }
    case MetricUnit::kCount: {
      if (is_num) return j.get<double>();
      if (auto v = finiteNumber(text)) return *v;
      return Error{"expected a number, got \"" + text + "\""};
    }
    case MetricUnit::kText: return Error{"this metric is a word: check it with \"equals\""};
    case MetricUnit::kRatio: {
      if (is_num) return j.get<double>();
      if (looksLikePercent(text)) {
        auto p = parsePercent(text);
        if (!p) return Error{p.error().message};
        return *p;
      }
      if (auto v = finiteNumber(text)) return *v;
      return Error{"expected a fraction like 0.01 or a percent like \"1%\", got \"" + text + "\""};
    }
  }
  return Error{"unknown unit"};
}

// "2x", "2x+5ms", "+10%", "1.5x+10MiB", "1.2x-1ms": baseline * factor (+ percent of the baseline)
// (+ an amount in the metric's unit).
Result<RelativeLimit> parseRelativeLimit(MetricUnit unit, const std::string& text) {
  const char* expected = "expected a limit relative to the baseline like \"2x\", \"2x+5ms\", \"+10%\" or \"1.5x+10MiB\"";
  RelativeLimit r;
  r.text = text;
  std::string_view t = trim(text);
  if (t.empty()) return Error{expected};
  if (auto x = t.find('x'); x != std::string_view::npos) {
    auto f = parseDouble(trim(t.substr(0, x)));
    if (!f || !std::isfinite(*f) || *f < 0) return Error{std::string(expected) + ", got \"" + text + "\""};
    r.factor = *f;
    t = trim(t.substr(x + 1));
  }
  if (t.empty()) return r;
  if (t.front() != '+' && t.front() != '-') return Error{std::string(expected) + ", got \"" + text + "\""};
  const double sign = t.front() == '-' ? -1.0 : 1.0;
  const std::string term(trim(t.substr(1)));
  if (looksLikePercent(term)) {
    auto p = parsePercent(term);
    if (!p) return Error{p.error().message};
    r.factor += sign * *p;
    return r;
  }
  auto v = parseMetricValue(unit, json(term));
  if (!v || !std::isfinite(*v)) return Error{std::string(expected) + ", got \"" + text + "\"" + (v ? "" : ": " + v.error().message)};
  r.add = sign * *v;
  return r;
}

void parseChecks(Checker& c, const json& j, const std::string& ptr, const Plan& plan, std::vector<CheckSpec>& out) {
  if (!j.is_array()) {
    c.issue(ptr, "expected an array of checks, got " + typeName(j));
    return;
  }
  if (j.size() > kMaxChecks) {
    c.issue(ptr, "at most " + std::to_string(kMaxChecks) + " checks are allowed, got " + std::to_string(j.size()));
    return;
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string cp = ptr + "/" + std::to_string(i);
    const json& cj = j[i];
    if (!c.checkObject(
            cj, cp, {"name", "metric", "stages", "probe", "max", "min", "max_vs_baseline", "equals", "description", "window", "abort"})) {
      continue;
    }
    CheckSpec ck;
    if (!cj.contains("name")) {
      c.issue(cp + "/name", "required: a name for the check, e.g. \"p99 under pressure\"");
    } else if (auto n = c.str(cj["name"], cp + "/name", 128)) {
      if (n->empty())
        c.issue(cp + "/name", "must not be empty");
      else if (n->find('"') != std::string::npos || n->find('\n') != std::string::npos) {
        c.issue(cp + "/name", "must not contain a double quote or a newline (it is quoted in the last output line)");
      } else if (!names.insert(*n).second)
        c.issue(cp + "/name", "duplicate check name \"" + *n + "\"");
      else
        ck.name = *n;
    }
    const MetricInfo* metric = nullptr;
    if (!cj.contains("metric")) {
      c.issue(cp + "/metric", "required: the metric to check, e.g. \"latency.p99\"");
    } else if (auto m = c.str(cj["metric"], cp + "/metric", 128)) {
      metric = findMetric(*m);
      if (!metric) {
        std::string list;
        for (const auto& k : knownMetrics()) list += std::string(list.empty() ? "" : ", ") + k.name;
        c.issue(cp + "/metric", "unknown metric \"" + *m + "\" (known: " + list + ")");
      } else {
        ck.metric = metric->name;
        ck.unit = metric->unit;
      }
    }
    if (cj.contains("description")) {
      if (auto d = c.str(cj["description"], cp + "/description")) ck.description = *d;
    }
    if (cj.contains("stages")) {
      const json& s = cj["stages"];
      if (!s.is_array() || s.empty()) {
        c.issue(cp + "/stages", "expected a non-empty array of stage names, got " + typeName(s));
      } else {
        for (std::size_t k = 0; k < s.size(); ++k) {
          const std::string sp = cp + "/stages/" + std::to_string(k);
          auto n = c.str(s[k], sp, 64);
          if (!n) continue;
          const bool exists = std::any_of(plan.stages.begin(), plan.stages.end(), [&](const StageSpec& st) { return st.name == *n; });
          if (!exists)
            c.issue(sp, "no stage named \"" + *n + "\" in /stages");
          else if (std::find(ck.stages.begin(), ck.stages.end(), *n) != ck.stages.end())
            c.issue(sp, "stage \"" + *n + "\" is listed twice");
          else
            ck.stages.push_back(*n);
        }
      }
    }
    if (cj.contains("probe")) {
      if (auto p = c.str(cj["probe"], cp + "/probe", 128)) {
        if (metric && !metric->latency) {
          c.issue(cp + "/probe", "only latency metrics read a probe; \"" + ck.metric + "\" does not");
        } else if (std::none_of(plan.target.probes.begin(), plan.target.probes.end(), [&](const ProbeSpec& ps) { return ps.name == *p; })) {
          c.issue(cp + "/probe", "no probe named \"" + *p + "\" in /target/probe");
        } else {
          ck.probe = *p;
        }
      }
    } else if (metric && metric->latency) {
      if (plan.target.probes.empty())
        c.issue(cp + "/metric", "latency metrics need a probe: add /target/probe");
      else
        ck.probe = plan.target.probes.front().name;
    }
    const bool text_metric = metric && metric->unit == MetricUnit::kText;
    if (text_metric) {
      for (const char* key : {"max", "min", "max_vs_baseline"}) {
        if (cj.contains(key)) c.issue(cp + "/" + key, "\"" + ck.metric + "\" is a word, not a number: use \"equals\"");
      }
      if (!cj.contains("equals")) {
        c.issue(cp + "/equals", "required for \"" + ck.metric + "\": the expected value, e.g. \"returned\"");
      } else if (auto e = c.str(cj["equals"], cp + "/equals", 64)) {
        static const std::vector<std::string> kOutcomes = {"returned",         "lazy",   "not_returned", "huge_pages_held",
                                                           "nothing_released", "no_data"};
        static const std::vector<std::string> kComesBack = {"yes", "no", "nothing_released", "no_data"};
        const auto& words = ck.metric == "release.comes_back" ? kComesBack : kOutcomes;
        if (std::find(words.begin(), words.end(), *e) == words.end()) {
          std::string list;
          for (const auto& w : words) list += (list.empty() ? "" : ", ") + w;
          c.issue(cp + "/equals", "expected one of " + list + ", got \"" + *e + "\"");
        } else {
          ck.equals = *e;
        }
      }
    } else if (cj.contains("equals")) {
      c.issue(cp + "/equals", "only word metrics (release.outcome, release.comes_back) take \"equals\"; use \"max\" or \"min\"");
    } else if (!cj.contains("max") && !cj.contains("min") && !cj.contains("max_vs_baseline")) {
      c.issue(cp, "give a limit: \"max\", \"min\" and/or \"max_vs_baseline\"");
    }
    if (metric && !text_metric) {
      for (const char* key : {"max", "min"}) {
        if (!cj.contains(key)) continue;
        auto v = parseMetricValue(metric->unit, cj[key]);
        if (!v)
          c.issue(cp + "/" + key, v.error().message);
        else
          (std::string(key) == "max" ? ck.max : ck.min) = *v;
      }
      if (ck.max && ck.min && *ck.min > *ck.max) c.issue(cp + "/min", "min is above max");
      if (cj.contains("max_vs_baseline")) {
        const std::string bp = cp + "/max_vs_baseline";
        if (auto t = c.str(cj["max_vs_baseline"], bp, 64)) {
          auto r = parseRelativeLimit(metric->unit, *t);
          if (!r)
            c.issue(bp, r.error().message);
          else
            ck.max_vs_baseline = *r;
          if (plan.baseline_stage.empty()) {
            c.issue(bp, "needs a baseline stage: name a stage \"baseline\" or set /baseline_stage");
          }
        }
      }
    }
    // Sliding windows: judged live from per-second data, so only metrics made of per-second data
    // that merge, and only absolute limits (a baseline stage's figure is not known live).
    if (cj.contains("window")) {
      // A window keeps each second's probe histograms (about 0.8 MiB per probe per second): 60 s
      // bounds that memory.
      if (auto w = c.duration(cj["window"], cp + "/window", std::chrono::seconds(1), std::chrono::seconds(60))) ck.window = *w;
      if (metric && !windowableMetric(metric->name)) {
        c.issue(cp + "/window", "metric \"" + std::string(metric->name) +
                                    "\" cannot be judged over a window (windows take latency.*, cgroup.usage.max/mean, target.rss.max, "
                                    "psi.some_avg10.max, psi.full_avg10.max)");
      }
      if (cj.contains("max_vs_baseline")) c.issue(cp + "/max_vs_baseline", "a window check takes absolute limits (max, min) only");
    }
    if (cj.contains("abort")) {
      if (!cj["abort"].is_boolean())
        c.issue(cp + "/abort", "expected true or false, got " + typeName(cj["abort"]));
      else
        ck.abort = cj["abort"].get<bool>();
      if (ck.abort && !cj.contains("window")) c.issue(cp + "/abort", "abort needs a \"window\": the check is judged live over it");
    }
    out.push_back(std::move(ck));
  }
}

// Rejects duplicate keys and excessive nesting while parsing; nlohmann would silently keep the last
// duplicate, which hides typos such as two "level" keys.
struct ParseGuard {
  struct Frame {
    bool is_object = false;
    std::set<std::string> keys;
  };
  std::vector<Frame> stack;
  std::vector<std::string> problems;
  bool too_deep = false;
};

struct TooDeep {};

}  // namespace

Result<Plan> parsePlan(std::string_view text, std::vector<PlanIssue>* issues_out) {
  std::vector<PlanIssue> issues;
  auto fail = [&]() -> Result<Plan> {
    // A plan with thousands of bad keys gets the first 50 lines and a count, not a flood.
    constexpr std::size_t kMaxLines = 50;
    std::string msg;
    for (std::size_t k = 0; k < issues.size() && k < kMaxLines; ++k) {
      msg += (msg.empty() ? "" : "\n") + issues[k].pointer + ": " + issues[k].message;
    }
    if (issues.size() > kMaxLines) msg += "\n/: ... and " + std::to_string(issues.size() - kMaxLines) + " more problems";
    if (issues_out) *issues_out = issues;
    return Error{msg};
  };
  if (text.size() > kMaxPlanBytes) {
    issues.push_back({"/", "plan is larger than " + std::to_string(kMaxPlanBytes) + " bytes"});
    return fail();
  }

  ParseGuard guard;
  json doc;
  try {
    json::parser_callback_t cb = [&guard](int depth, json::parse_event_t event, json& parsed) {
      switch (event) {
        case json::parse_event_t::object_start:
        case json::parse_event_t::array_start:
          if (depth >= kMaxDepth) throw TooDeep{};
          guard.stack.push_back({event == json::parse_event_t::object_start, {}});
          break;
        case json::parse_event_t::object_end:
        case json::parse_event_t::array_end:
          if (!guard.stack.empty()) guard.stack.pop_back();
          break;
        case json::parse_event_t::key:
          if (!guard.stack.empty() && guard.stack.back().is_object) {
            const auto& k = parsed.get_ref<const std::string&>();
            if (!guard.stack.back().keys.insert(k).second) guard.problems.push_back(k);
          }
          break;
        default: break;
      }
      return true;
    };
    doc = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const TooDeep&) {
    issues.push_back({"/", "nesting deeper than " + std::to_string(kMaxDepth) + " levels"});
    return fail();
  } catch (const json::out_of_range& e) {
    // Valid JSON syntax that a double cannot hold, such as 1e400 (found by fuzz/plan_parse_fuzz).
    const std::string what = e.what();
    const auto pos = what.find("] ");
    issues.push_back({"/", "not a usable JSON number: " + (pos == std::string::npos ? what : what.substr(pos + 2))});
    return fail();
  } catch (const json::parse_error& e) {
    // e.byte is the 1-based offset where parsing stopped; give line and column too.
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string what = e.what();
    auto pos = what.find("syntax error");
    if (pos == std::string::npos) pos = what.find("parse error");
    issues.push_back({"/", "not valid JSON at line " + std::to_string(line) + ", column " + std::to_string(col) + ": " +
                               (pos == std::string::npos ? what : what.substr(pos))});
    return fail();
  }
  for (const auto& k : guard.problems) issues.push_back({"/", "duplicate key \"" + k + "\" (each key may appear once per object)"});

  Checker c(issues);
  Plan plan;
  plan.source = doc;
  if (c.checkObject(doc, "",
                    {"name", "description", "target", "sampling", "safety", "pprof", "stages", "checks", "baseline_stage", "$schema"})) {
    if (doc.contains("pprof")) parsePprof(c, doc["pprof"], "/pprof", plan.pprof);
    if (!doc.contains("name")) {
      c.issue("/name", "required: a name for the plan");
    } else if (auto n = c.str(doc["name"], "/name", 128)) {
      // The name becomes part of the default output directory: the same characters as stage names.
      if (n->empty())
        c.issue("/name", "must not be empty");
      else if (!validStageName(*n))
        c.issue("/name", "plan names use 1-64 of [A-Za-z0-9._-] (they name the output directory), got \"" + *n + "\"");
      plan.name = *n;
    }
    if (doc.contains("$schema")) (void)c.str(doc["$schema"], "/$schema");
    if (doc.contains("description")) {
      if (auto d = c.str(doc["description"], "/description")) plan.description = *d;
    }
    if (doc.contains("safety")) {
      const json& s = doc["safety"];
      if (c.checkObject(s, "/safety", {"margin", "max_duration", "node_max", "node_min_available"})) {
        if (s.contains("margin")) {
          const json& m = s["margin"];
          if (m.is_string() && looksLikePercent(m.get_ref<const std::string&>())) {
            auto p = parsePercent(m.get_ref<const std::string&>());
            if (!p || *p > 0.5)
              c.issue("/safety/margin", "expected a percent between 0% and 50%");
            else
              plan.safety.margin_fraction = *p;
          } else {
            c.issue("/safety/margin", "expected a percent of the effective limit like \"3%\"");
          }
        }
        if (s.contains("max_duration")) {
          if (auto d = c.duration(s["max_duration"], "/safety/max_duration", std::chrono::seconds(1), std::chrono::hours(24 * 7))) {
            plan.safety.max_duration = *d;
          }
        }
        parseNodeSafety(c, s, plan.safety);
      }
    }
    if (doc.contains("sampling")) {
      const json& s = doc["sampling"];
      if (c.checkObject(s, "/sampling", {"interval", "pprof_interval"})) {
        if (s.contains("interval")) {
          if (auto d = c.duration(s["interval"], "/sampling/interval", std::chrono::milliseconds(10), std::chrono::minutes(1))) {
            plan.sampling.interval = *d;
          }
        }
        if (s.contains("pprof_interval")) {
          if (auto d =
                  c.duration(s["pprof_interval"], "/sampling/pprof_interval", std::chrono::milliseconds(100), std::chrono::minutes(10))) {
            plan.sampling.pprof_interval = *d;
          }
        }
      }
    }
    if (!doc.contains("target")) {
      c.issue("/target", "required: what to put under pressure (\"launch\" or \"attach\")");
    } else {
      parseTarget(c, doc["target"], "/target", plan.target);
    }
    if (!doc.contains("stages")) {
      c.issue("/stages", "required: the list of stages");
    } else {
      parseStages(c, doc["stages"], "/stages", plan.safety, plan.stages);
    }
    if (std::any_of(plan.stages.begin(), plan.stages.end(), [](const StageSpec& st) { return st.name == "baseline"; })) {
      plan.baseline_stage = "baseline";
    }
    if (doc.contains("baseline_stage")) {
      if (auto b = c.str(doc["baseline_stage"], "/baseline_stage", 64)) {
        if (std::none_of(plan.stages.begin(), plan.stages.end(), [&](const StageSpec& st) { return st.name == *b; })) {
          c.issue("/baseline_stage", "no stage named \"" + *b + "\" in /stages");
        } else if (plan.baseline_stage.empty()) {
          plan.baseline_stage = *b;
        } else if (*b != plan.baseline_stage) {
          c.issue("/baseline_stage", "a stage is named \"baseline\"; it is the baseline, so this must be \"baseline\" or left out");
        }
      }
    }
    for (std::size_t i = 0; i < plan.stages.size(); ++i) {
      if (plan.stages[i].release && !plan.target.pprof_url) {
        c.issue("/stages/" + std::to_string(i) + "/release",
                "release verification reads HeapReleased through pprof: add /target/pprof_url");
      }
    }
    if (doc.contains("checks")) parseChecks(c, doc["checks"], "/checks", plan, plan.checks);
    if (doc.contains("pprof") && !plan.target.pprof_url) c.issue("/pprof", "pprof settings need /target/pprof_url");
    if (issues.empty() && plan.totalDuration() > plan.safety.max_duration) {
      c.issue("/stages", "the stages add up to " + formatDuration(plan.totalDuration()) + ", more than /safety/max_duration (" +
                             formatDuration(plan.safety.max_duration) + ")");
    }
  }
  if (!issues.empty()) return fail();
  if (issues_out) issues_out->clear();
  return plan;
}

Result<Plan> loadPlan(const std::string& path, std::vector<PlanIssue>* issues) {
  // A FIFO without a writer would block the read forever; devices and directories make no plans.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    const std::string msg = path + ": not a regular file";
    if (issues) *issues = {{"/", msg}};
    return Error{msg};
  }
  auto text = readFile(path, kMaxPlanBytes);
  if (!text) {
    if (issues) *issues = {{"/", text.error().message}};
    return Error{text.error().message};
  }
  auto plan = parsePlan(*text, issues);
  if (!plan) {
    std::string msg;
    std::istringstream lines(plan.error().message);
    for (std::string line; std::getline(lines, line);) msg += (msg.empty() ? "" : "\n") + path + ": " + line;
    return Error{msg};
  }
  return plan;
}

}  // namespace memstrain
