#pragma once
// The outputs of `memstrain headroom`: headroom.json (every run), headroom.md (the answer and the
// search path) and headroom.html (the same with charts of p99, GC CPU, usage and OOM kills against
// the varied value), and the last machine line. Pure functions of a HeadroomDocument.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memstrain/headroom/headroom.hpp"

namespace memstrain {

/// Version of headroom.json's layout; bumped when a field changes meaning.
inline constexpr int kHeadroomSchemaVersion = 1;

/// Everything a headroom report shows.
struct HeadroomDocument {
  std::string plan_path;
  std::string plan_name;
  std::string out_dir;
  std::uint64_t memory_limit_bytes = 0;  ///< the plan's launch memory_limit (the varied one for memory_limit)
  HeadroomRange range;
  HeadroomSearchOptions options;
  double margin = 0.2;  ///< memory_limit: the recommendation's margin over the smallest passing limit
  HeadroomOutcome outcome;
  double took_s = 0;  ///< wall time of the whole search
};

/// The answer in sentences: `headline` (where the edge is, or that there is none in the range),
/// `details` (level: bytes and percent of the limit the stressor took at the edge; memory_limit:
/// the requests/limits recommendation with its margin; gomemlimit: the bytes), and `why` (what
/// failed at the failing value: each failed check with the report's explanation, OOM kills).
struct HeadroomAnswer {
  std::string headline;
  std::vector<std::string> details;
  std::vector<std::string> why;
};
HeadroomAnswer answerHeadroom(const HeadroomDocument& doc);

/// A Kubernetes quantity for a memory recommendation: bytes rounded up to whole MiB ("336Mi").
std::string kubernetesMebibytes(double bytes);

/// headroom.json: range, options, every trial with its figures and failed checks, the outcome
/// (end, passing, failing, non-monotonic observations) and the answer.
nlohmann::json headroomJson(const HeadroomDocument& doc, int exit_code);

/// headroom.md: the answer, then one row per run in the order run.
std::string renderHeadroomMarkdown(const HeadroomDocument& doc);

/// headroom.html: the answer, four charts (worst p99, worst-stage GC CPU, peak usage, OOM kills)
/// against the varied value, the search path chart (value by run), and the run table.
std::string renderHeadroomHtml(const HeadroomDocument& doc);

/// `memstrain: headroom=72.5% passing<=72.5% failing>=75% runs=7 variable=level end=edge exit=0 out=DIR`
/// (passing>=/failing<= when passing values lie above failing ones; `none` for a missing side).
std::string headroomMachineLine(const HeadroomDocument& doc, int exit_code);

}  // namespace memstrain
