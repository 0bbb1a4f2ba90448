// The settings sections: safety (with node placement's rails), sampling, pprof.

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

}  // namespace

void parsePprof(Checker& c, const json& j, const std::string& ptr, PprofSpec& out) {
  if (!c.checkObject(j, ptr, {"gc", "timeout", "max_body", "max_decompressed", "snapshot_on_growth", "diff_top", "live_interval"})) return;
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
  if (j.contains("live_interval")) {
    // Each live reading forces a few GCs in the target; more often than every 200ms is a GC
    // benchmark, not an observation (README: "Live heap and leak rate" has the measured cost).
    if (auto d = c.duration(j["live_interval"], ptr + "/live_interval", std::chrono::milliseconds(200), std::chrono::hours(1)))
      out.live_interval = *d;
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

void parseSafety(Checker& c, const json& s, SafetySpec& out) {
  if (!c.checkObject(s, "/safety", {"margin", "max_duration", "node_max", "node_min_available"})) return;
  if (s.contains("margin")) {
    const json& m = s["margin"];
    if (m.is_string() && looksLikePercent(m.get_ref<const std::string&>())) {
      auto p = parsePercent(m.get_ref<const std::string&>());
      if (!p || *p > 0.5)
        c.issue("/safety/margin", "expected a percent between 0% and 50%");
      else
        out.margin_fraction = *p;
    } else {
      c.issue("/safety/margin", "expected a percent of the effective limit like \"3%\"");
    }
  }
  if (s.contains("max_duration")) {
    if (auto d = c.duration(s["max_duration"], "/safety/max_duration", std::chrono::seconds(1), std::chrono::hours(24 * 7))) {
      out.max_duration = *d;
    }
  }
  parseNodeSafety(c, s, out);
}

void parseSampling(Checker& c, const json& s, SamplingSpec& out) {
  if (!c.checkObject(s, "/sampling", {"interval", "pprof_interval"})) return;
  if (s.contains("interval")) {
    if (auto d = c.duration(s["interval"], "/sampling/interval", std::chrono::milliseconds(10), std::chrono::minutes(1))) out.interval = *d;
  }
  if (s.contains("pprof_interval")) {
    if (auto d = c.duration(s["pprof_interval"], "/sampling/pprof_interval", std::chrono::milliseconds(100), std::chrono::minutes(10))) {
      out.pprof_interval = *d;
    }
  }
}

}  // namespace memstrain::plan_parsing
