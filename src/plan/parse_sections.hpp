#pragma once
// The plan parser's shared parts, private to plan/: the Checker that walks the document and
// records issues with JSON pointers, the name rules, and one parser per section of a plan
// (parse_target.cpp, parse_stages.cpp, parse_checks.cpp, parse_settings.cpp). parsePlan()
// (plan_parse.cpp) reads the JSON and calls the sections in the order their issues are listed.

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memstrain/plan/plan_parse.hpp"
#include "memstrain/util/units.hpp"

namespace memstrain::plan_parsing {

using nlohmann::json;
using std::chrono::nanoseconds;

constexpr int kMaxDepth = 32;
constexpr std::size_t kMaxStages = 256;
constexpr std::size_t kMaxChecks = 256;
constexpr std::size_t kMaxStringBytes = 4096;

/// "a string", "an integer", ...: what a value is, for messages.
std::string typeName(const json& j);

/// A key as a JSON pointer token (RFC 6901), with control characters as \u00XX so that a NUL or
/// a newline in a key cannot cut or forge a line of the error output.
std::string escapePointerToken(const std::string& key);

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

/// Stage, probe and plan names: 1-64 of [A-Za-z0-9._-], not "." or "..".
bool validStageName(const std::string& n);
/// An absolute cgroup path without "..", "." or empty parts.
bool validCgroupPath(const std::string& p);

// The sections, each checking its part of the document into `out`.

/// target: launch or attach, pprof_url, probes.
void parseTarget(Checker& c, const json& j, const std::string& ptr, TargetSpec& out);
/// stages: names, durations, pressure, actions, release verification.
void parseStages(Checker& c, const json& j, const std::string& ptr, const SafetySpec& safety, std::vector<StageSpec>& out);
/// checks: metrics, limits in the metric's unit, stages and probes named, windows. Needs the
/// plan's stages and probes parsed.
void parseChecks(Checker& c, const json& j, const std::string& ptr, const Plan& plan, std::vector<CheckSpec>& out);
/// safety: margin, max_duration and the node placement's rails.
void parseSafety(Checker& c, const json& j, SafetySpec& out);
/// sampling: the cgroup and pprof intervals.
void parseSampling(Checker& c, const json& j, SamplingSpec& out);
/// pprof: how profiles and MemStats are read.
void parsePprof(Checker& c, const json& j, const std::string& ptr, PprofSpec& out);

}  // namespace memstrain::plan_parsing
