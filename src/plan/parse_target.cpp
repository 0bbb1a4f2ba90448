// The target section: launch or attach, pprof_url, probes.

#include "parse_sections.hpp"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <limits>
#include <set>

#include "memstrain/discovery/locate.hpp"
#include "memstrain/util/text.hpp"

namespace memstrain::plan_parsing {
namespace {

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
  if (!c.checkObject(j, ptr, {"cgroup", "pid", "pod_uid", "container", "container_id", "cgroup_only"})) return;
  if (j.contains("cgroup_only")) {
    if (auto b = c.boolean(j["cgroup_only"], ptr + "/cgroup_only")) out.cgroup_only = *b;
  }
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
    std::optional<std::string> text;
    if (e.is_number_integer())
      text = std::to_string(e.get<std::int64_t>());
    else
      text = c.str(e, ptr + "/expect_status", 256);
    if (text) {
      if (auto r = parseStatusRanges(*text))
        out.expect_status = std::move(*r);
      else
        c.issue(ptr + "/expect_status", r.error().message);
    }
  }
  if (j.contains("max_in_flight")) {
    if (auto v = c.integer(j["max_in_flight"], ptr + "/max_in_flight", 1, 100000)) out.max_in_flight = static_cast<std::size_t>(*v);
  }
  if (j.contains("concurrency")) {
    if (auto v = c.integer(j["concurrency"], ptr + "/concurrency", 0, 100000)) out.concurrency = static_cast<std::size_t>(*v);
  }
}

}  // namespace

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

}  // namespace memstrain::plan_parsing

namespace memstrain {

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

}  // namespace memstrain
