// The stages section: names, durations, pressure, actions, release verification.

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

void parsePressure(Checker& c, const json& j, const std::string& ptr, nanoseconds stage_duration, const SafetySpec& safety,
                   PressureSpec& out) {
  if (!c.checkObject(j, ptr, {"placement", "level", "size", "ramp", "rate", "allow_oom", "oom_score_adj", "hysteresis"})) return;
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
  if (j.contains("rate")) {
    // "500MiB/s": a size per second. 1 MiB/s keeps a 1 GiB ramp under 20 minutes' worth of ticks;
    // above 1 TiB/s it would be a spike anyway.
    const json& r = j["rate"];
    const std::string text = r.is_string() ? r.get<std::string>() : std::string();
    std::string_view t = trim(text);
    if (!r.is_string() || t.size() < 3 || t.substr(t.size() - 2) != "/s") {
      c.issue(ptr + "/rate", "expected a size per second like \"500MiB/s\", got " + (r.is_string() ? "\"" + text + "\"" : typeName(r)));
    } else if (auto v = parseSize(std::string(t.substr(0, t.size() - 2))); !v) {
      c.issue(ptr + "/rate", v.error().message);
    } else if (*v < (1ULL << 20) || *v > (1ULL << 40)) {
      c.issue(ptr + "/rate", "rate " + text + " is out of range (1MiB/s to 1TiB/s)");
    } else if (j.contains("ramp")) {
      c.issue(ptr + "/rate", "give at most one of \"ramp\" (a duration) or \"rate\" (bytes per second)");
    } else {
      out.rate_bytes_per_s = *v;
    }
  }
  if (j.contains("hysteresis")) {
    // "2%" of the effective limit or a size ("8MiB"; "0" turns it off). Above a quarter of the
    // limit the "level" would mean little.
    const json& h = j["hysteresis"];
    if (!j.contains("level")) {
      c.issue(ptr + "/hysteresis", "only with \"level\" (the closed loop); a \"size\" holds its bytes whatever the target does");
    } else if (!h.is_string() && !h.is_number_unsigned()) {
      c.issue(ptr + "/hysteresis", "expected a percent of the effective limit like \"2%\" or a size like \"8MiB\", got " + typeName(h));
    } else if (h.is_string() && looksLikePercent(h.get_ref<const std::string&>())) {
      if (auto f = parsePercent(h.get_ref<const std::string&>()); !f) {
        c.issue(ptr + "/hysteresis", f.error().message);
      } else if (*f > 0.25) {
        c.issue(ptr + "/hysteresis", "at most 25% of the effective limit");
      } else {
        out.hysteresis_fraction = *f;
      }
    } else if (auto v = c.size(h, ptr + "/hysteresis", 0, 1ULL << 40)) {
      out.hysteresis_bytes = *v;
    }
  }
  if (j.contains("oom_score_adj")) {
    if (auto v = c.integer(j["oom_score_adj"], ptr + "/oom_score_adj", -1000, 1000)) {
      if (node && *v < 0) {
        // At node level the stressor competes with every pod: it must stay the OOM killer's first
        // choice, never shielded from it at the node's expense.
        c.issue(ptr + "/oom_score_adj",
                "must be 0 or more with \"placement\": \"node\" (a lower value makes the kernel kill other pods before the stressor)");
      } else {
        out.oom_score_adj = static_cast<int>(*v);
      }
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

}  // namespace

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

}  // namespace memstrain::plan_parsing
