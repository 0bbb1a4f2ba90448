#pragma once
// The outputs of `memstrain sweep`: sweep.json (data), sweep.md (Markdown table) and sweep.html (a
// small self-contained page). Pure functions of a SweepDocument.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memstrain/sweep/sweep.hpp"

namespace memstrain {

/// Version of sweep.json's layout; bumped when a field changes meaning.
inline constexpr int kSweepSchemaVersion = 1;

/// Everything a sweep report shows.
struct SweepDocument {
  std::string plan_path;
  std::string plan_name;
  std::uint64_t memory_limit_bytes = 0;  ///< target.launch.memory_limit of the plan
  std::vector<std::string> stage_names;  ///< in plan order: orders the per-stage columns
  std::string baseline_stage;            ///< left out of the slope column when other stages have one
  std::vector<SweepAxis> axes;
  int repeat = 1;
  bool interrupted = false;                   ///< stopped by a signal; later runs are missing
  std::vector<SweepSettingSummary> settings;  ///< in combination order
  SweepRecommendation recommendation;
};

/// One run's figures as sweep.json writes them (dir, exit code, verdict, OOM, GC, usage, p99 ...).
nlohmann::json sweepRunJson(const SweepRunFigures& r);

/// sweep.json: per setting its env, every run's figures and the spread over repeats, plus the
/// recommendation and the headroom definition.
nlohmann::json sweepJson(const SweepDocument& doc);

/// sweep.md: one row per setting (verdict, first OOM kill or "survived", GC cycles, GC pause,
/// peak usage, headroom, p99 per stage, heap-object slope, release outcome) and the
/// recommendation line. Figures over repeats read "median (min–max)".
std::string renderSweepMarkdown(const SweepDocument& doc);

/// sweep.html: the same table as one page with inline CSS; every text is HTML-escaped.
std::string renderSweepHtml(const SweepDocument& doc);

}  // namespace memstrain
