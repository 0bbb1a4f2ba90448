#pragma once
// report.html: one self-contained page (inline CSS, inline SVG, a few lines of plain script for
// hover read-outs; nothing fetched from the network) that tells the story of a run: verdict,
// failed checks, time-series charts on one time axis with stage bands and event markers, per-stage
// figures, heap growth by function and release outcomes.
//
// Input is report.json (as written by `memstrain run`) plus the series of samples.jsonl from the
// same run directory. The renderer never throws on odd input: every field is optional and every
// string is escaped (plan names, URLs, function names are untrusted).

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "memstrain/report/run_series.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

struct HtmlReportOptions {
  /// Each chart series is downsampled to at most this many points.
  std::size_t max_points_per_series = 600;
  /// Shown instead of the charts when `series` is null: why there are none.
  std::string missing_series_note;
};

/// The whole page. `series` may be null (samples.jsonl missing): the page then says so where the
/// charts would be and keeps everything that comes from report.json.
std::string renderHtmlReport(const nlohmann::json& report, const RunSeries* series, const HtmlReportOptions& options = {});

/// The samples.jsonl beside a report.json path ("out/x/report.json" -> "out/x/samples.jsonl").
std::string samplesPathFor(const std::string& report_json_path);

/// Reads samples.jsonl at `samples_path` and renders the page for `report`. When the samples
/// cannot be read, the page is still made (without charts) and `warning` says why.
std::string renderHtmlReportWithSamples(const nlohmann::json& report, const std::string& samples_path, std::string* warning);

}  // namespace memstrain
