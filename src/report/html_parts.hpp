#pragma once
// report.html's parts, private to report/: the page (html.cpp: header, facts, verdict, the page's
// CSS and script), the charts (html_charts.cpp) and the tables (html_tables.cpp), and what they
// share: the palette, the one HTML escaper and the value formats.

#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "memstrain/model/report_view.hpp"
#include "memstrain/report/html.hpp"
#include "memstrain/report/run_series.hpp"
#include "memstrain/util/json_read.hpp"

namespace memstrain::html {

using nlohmann::json;

// Okabe–Ito palette: distinguishable with the common colour-vision deficiencies.
inline constexpr const char* kBlack = "#000000";
inline constexpr const char* kOrange = "#E69F00";
inline constexpr const char* kSky = "#56B4E9";
inline constexpr const char* kGreen = "#009E73";
inline constexpr const char* kBlue = "#0072B2";
inline constexpr const char* kVermillion = "#D55E00";
inline constexpr const char* kPurple = "#CC79A7";
inline constexpr const char* kGrey = "#777777";

// Untrusted JSON: wrong types read as absent, never throw (util/json_read.hpp).
using json_read::at;
using json_read::num;
using json_read::str;

/// Text for HTML content and attribute values (report/svg_chart's htmlEscape).
std::string esc(std::string_view s);
/// printf into a short string (a number with its unit).
[[gnu::format(printf, 1, 2)]] std::string fmt(const char* f, ...);
/// "412.3 MiB" / "4.39 ms", or "–" for no value.
std::string bytes(std::optional<double> v);
std::string msText(std::optional<double> v);
/// A count as report.json holds it: "3" ("%g" for a fraction), "" when absent.
std::string countText(std::optional<double> v);
/// "12.5 s", "3 min 20 s", "1 h 5 min".
std::string durationText(double s);
/// A value of report.json whose meaning the renderer does not know (newer fields, the release
/// verifier's `expect` and `reclaim`): shown as key: value pairs, with units guessed from the key.
std::string genericValue(const json& j, const std::string& key, int depth);

// The sections of the page, in page order.

void renderChecks(std::ostringstream& o, const ReportView& r);
/// The five charts, or a note on why there are none (`s` null: no samples.jsonl).
void renderCharts(std::ostringstream& o, const ReportView& r, const RunSeries* s, const HtmlReportOptions& opt);
void renderStages(std::ostringstream& o, const ReportView& r);
void renderHeapGrowth(std::ostringstream& o, const ReportView& r);
void renderRelease(std::ostringstream& o, const ReportView& r);
void renderEvents(std::ostringstream& o, const ReportView& r);

}  // namespace memstrain::html
