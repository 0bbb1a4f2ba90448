// report.html: the page around its parts (html_parts.hpp): head, header with the verdict and the
// run's facts, then checks, charts, stages, heap growth, release and events; the CSS and the few
// lines of script for hover read-outs.

#include "memstrain/report/html.hpp"

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <sstream>

#include "html_parts.hpp"
#include "memstrain/report/chart_scale.hpp"
#include "memstrain/report/svg_chart.hpp"

namespace memstrain {
namespace html {

std::string esc(std::string_view s) { return htmlEscape(s); }

[[gnu::format(printf, 1, 2)]] std::string fmt(const char* f, ...) {
  char b[96];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(b, sizeof b, f, ap);
  va_end(ap);
  return b;
}

std::string bytes(std::optional<double> v) { return v ? formatValue(ValueKind::kBytes, *v) : "–"; }
std::string msText(std::optional<double> v) { return v ? formatValue(ValueKind::kMilliseconds, *v) : "–"; }
std::string countText(std::optional<double> v) {
  if (!v) return "";
  if (*v == std::floor(*v) && std::fabs(*v) < 1e15) return fmt("%.0f", *v);
  return fmt("%g", *v);
}

std::string durationText(double s) {
  if (s < 120) return fmt("%.1f s", s);
  const long total = std::lround(s);
  char b[64];
  if (total < 3600)
    std::snprintf(b, sizeof b, "%ld min %ld s", total / 60, total % 60);
  else
    std::snprintf(b, sizeof b, "%ld h %ld min", total / 3600, (total % 3600) / 60);
  return b;
}

// A value of report.json whose meaning the renderer does not know (newer fields, the release
// verifier's `expect` and `reclaim`): shown as key: value pairs, with units guessed from the key.
std::string genericValue(const json& j, const std::string& key, int depth) {
  if (j.is_null()) return "–";
  if (j.is_number()) {
    const double v = j.get<double>();
    auto ends = [&](const char* suffix) {
      const std::string s = suffix;
      return key.size() >= s.size() && key.compare(key.size() - s.size(), s.size(), s) == 0;
    };
    if (ends("_bytes")) return formatValue(ValueKind::kBytes, v);
    if (ends("_ratio") || ends("_fraction")) return fmt("%.1f %%", v * 100);
    if (ends("_s")) return fmt("%.2f s", v);
    if (ends("_ms")) return formatValue(ValueKind::kMilliseconds, v);
    return esc(str(j));
  }
  if (j.is_string() || j.is_boolean()) return esc(str(j));
  if (depth >= 3) return "…";
  std::string out;
  if (j.is_array()) {
    for (std::size_t i = 0; i < j.size() && i < 50; ++i) out += (i ? ", " : "") + genericValue(j[i], key, depth + 1);
    return out.empty() ? "–" : out;
  }
  out += "<dl class=\"kv\">";
  for (auto it = j.begin(); it != j.end(); ++it) {
    out += "<dt>" + esc(it.key()) + "</dt><dd>" + genericValue(it.value(), it.key(), depth + 1) + "</dd>";
  }
  return out + "</dl>";
}

}  // namespace html

using html::bytes;
using html::countText;
using html::durationText;
using html::esc;
using html::json;
using html::str;

namespace {

// ---- Header ----

struct Badge {
  std::string css;
  std::string icon;
};

Badge verdictBadge(const std::string& v) {
  if (v == "pass") return {"pass", "\u2714"};
  if (v == "fail") return {"fail", "\u2716"};
  if (v == "inconclusive") return {"inconclusive", "?"};
  return {"unknown", "?"};
}

std::string statusClass(const std::string& s) {
  if (s == "completed") return "ok";
  if (s == "interrupted" || s == "aborted") return "warn";
  if (s == "error") return "bad";
  return "unknown";
}

void renderHeader(std::ostringstream& o, const ReportView& r) {
  const std::string& verdict = r.verdict;
  const Badge b = verdictBadge(verdict);
  o << "<header class=\"top\">\n<div class=\"title\"><div class=\"kicker\">memstrain run report</div><h1>" << esc(r.plan_name) << "</h1>";
  if (!r.plan_description.empty()) o << "<p class=\"desc\">" << esc(r.plan_description) << "</p>";
  o << "</div>\n<div id=\"verdict\" class=\"verdict " << b.css << "\"><span class=\"icon\">" << b.icon << "</span><span class=\"word\">"
    << esc(verdict.empty() ? "no verdict" : verdict) << "</span>";
  if (r.checks_total) {
    o << "<small>checks " << esc(countText(r.checks_passed)) << "/" << esc(countText(r.checks_total)) << " passed";
    if (r.checks_failed.value_or(0) > 0) o << ", " << esc(countText(r.checks_failed)) << " failed";
    o << "</small>";
  }
  o << "</div>\n</header>\n";

  // Facts about the run.
  const std::string& status = r.run_status;
  o << "<section id=\"facts\" class=\"facts\"><dl>\n";
  o << "<div><dt>Run status</dt><dd><span id=\"run-status\" class=\"pill " << statusClass(status) << "\">"
    << esc(status.empty() ? "unknown" : status) << "</span>";
  if (r.has_cleanup) {
    o << " <span class=\"pill " << (r.cleanup_status == "ok" ? "ok" : "bad") << "\">cleanup " << esc(r.cleanup_status) << "</span>";
  }
  o << "</dd></div>\n";
  if (r.run_duration_s) o << "<div><dt>Duration</dt><dd>" << durationText(*r.run_duration_s) << "</dd></div>\n";
  o << "<div><dt>Started</dt><dd>" << esc(r.run_started_at) << "</dd></div>\n";
  std::string target_text;
  if (r.target_mode == "launch" && r.target_command) {
    for (const auto& a : *r.target_command) target_text += (target_text.empty() ? "" : " ") + a;
    target_text = "launched: " + target_text;
  } else {
    target_text = "attached: " + r.cgroup_target;
  }
  const std::string exit_text = r.target_exit.value_or("");
  o << "<div class=\"wide\"><dt>Target</dt><dd><code>" << esc(target_text) << "</code>";
  if (!r.target_pid.empty()) o << " (pid " << esc(r.target_pid) << ")";
  if (!exit_text.empty()) o << " — <strong>" << esc(exit_text) << "</strong>";
  o << "</dd></div>\n";
  o << "<div class=\"wide\"><dt>cgroup</dt><dd>" << esc(r.cgroup_version) << " <code>" << esc(r.cgroup_measured) << "</code>";
  if (!r.cgroup_placement.empty()) o << ", stressor " << esc(r.cgroup_placement);
  o << "</dd></div>\n";
  auto asDouble = [](std::optional<std::uint64_t> v) { return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt; };
  std::string limits = r.effective_limit_bytes ? "effective " + bytes(asDouble(r.effective_limit_bytes)) : "no limit";
  if (r.safety_margin_bytes) limits += ", safety margin " + bytes(r.safety_margin_bytes);
  if (r.target_memory_limit_bytes) limits += ", plan memory_limit " + bytes(asDouble(r.target_memory_limit_bytes));
  o << "<div><dt>Limits</dt><dd id=\"limits\">" << esc(limits) << "</dd></div>\n";
  std::string go;
  if (r.target_env) {
    for (const auto& [key, value] : *r.target_env) {
      if (key.rfind("GO", 0) == 0) go += (go.empty() ? "" : " ") + key + "=" + value;
    }
  }
  if (go.empty()) go = r.target_mode == "launch" ? "Go defaults (the plan sets no GO* variable)" : "not known (attached target)";
  o << "<div><dt>Go settings</dt><dd id=\"go-settings\"><code>" << esc(go) << "</code></dd></div>\n";
  o << "<div><dt>Host</dt><dd>" << esc(r.host_name) << ", kernel " << esc(r.host_kernel) << "</dd></div>\n";
  const std::string thp_text =
      r.has_thp ? "enabled " + r.thp_enabled + ", defrag " + r.thp_defrag : std::string("not known (older report, or no THP)");
  o << "<div><dt>Huge pages</dt><dd id=\"thp\">" << esc(thp_text) << "</dd></div>\n";
  o << "<div><dt>Run id</dt><dd><code>" << esc(r.run_id) << "</code></dd></div>\n";
  o << "</dl></section>\n";

  // Why: the verdict's reasons and the run's error.
  if (!r.verdict_reasons.empty() || !r.run_error.empty()) {
    o << "<section id=\"why\" class=\"why " << b.css << "\"><h2>Why</h2><ul>";
    if (!r.run_error.empty()) o << "<li>run: " << esc(r.run_error) << "</li>";
    for (const auto& x : r.verdict_reasons) o << "<li>" << esc(x) << "</li>";
    for (const auto& e : r.cleanup_errors) o << "<li>cleanup: " << esc(e) << "</li>";
    o << "</ul></section>\n";
  }
}

constexpr const char* kCss = R"CSS(
:root{--pass:#009E73;--fail:#D55E00;--inc:#E69F00;--ink:#1d1d1f;--mute:#5f6368;--line:#d9dce1;--bg:#fff;--band:#eef2f7}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:20px 24px 40px;background:var(--bg)}
h1{margin:0;font-size:28px;word-break:break-word}h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:10px 0 6px}
.kicker{color:var(--mute);font-size:12px;text-transform:uppercase;letter-spacing:.08em}
.desc{color:var(--mute);margin:4px 0 0}
header.top{display:flex;justify-content:space-between;align-items:center;gap:20px}
.verdict{display:flex;flex-direction:column;align-items:center;min-width:190px;padding:12px 22px;border-radius:12px;color:#fff;text-transform:uppercase}
.verdict .icon{font-size:30px;line-height:1}.verdict .word{font-size:30px;font-weight:800;letter-spacing:.06em}
.verdict small{text-transform:none;font-size:13px;opacity:.95}
.verdict.pass{background:var(--pass)}.verdict.fail{background:var(--fail)}.verdict.inconclusive{background:var(--inc);color:#000}
.verdict.unknown{background:#777}
.facts dl{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:6px 18px;margin:16px 0 0}
.facts dl>div{min-width:0}.facts .wide{grid-column:span 3}
dt{color:var(--mute);font-size:12px}dd{margin:0;word-break:break-word}
code{font:12.5px ui-monospace,"DejaVu Sans Mono",monospace}
.pill{display:inline-block;padding:1px 9px;border-radius:10px;font-size:12.5px;font-weight:600;background:#ddd;color:#000}
.pill.ok,.pill.release-returned{background:var(--pass);color:#fff}.pill.bad,.pill.release-not_returned{background:var(--fail);color:#fff}
.pill.warn,.pill.release-lazy{background:var(--inc);color:#000}
.why{margin-top:14px;padding:8px 14px;border-left:5px solid #777;background:#f6f6f6}.why h2{border:0;margin:4px 0;font-size:15px}
.why.fail{border-color:var(--fail)}.why.inconclusive{border-color:var(--inc)}.why ul{margin:4px 0}
table{border-collapse:collapse;width:100%;font-size:13px}
table.stages{font-size:12px}table.stages td,table.stages th{padding:4px 5px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
thead th{background:#f0f2f5;font-weight:600;font-size:12px;color:#333}
td.num,th.num{text-align:right;white-space:nowrap}
.scroll{overflow-x:auto}
tr.outcome-fail td{background:#fbe3d6}tr.outcome-no_data td,tr.outcome-unknown td{background:#fdf1d3}
td.result{white-space:nowrap;font-weight:700}tr.outcome-fail td.result{color:#a33f00}tr.outcome-pass td.result{color:#00694d}
.metric{color:var(--mute);font-size:12px}.expl{color:#333}
tr.bad td{color:#a33f00}
figure.chart-fig{margin:8px 0 18px;break-inside:avoid}
figcaption{font-weight:600}figcaption .sub{font-weight:400;color:var(--mute);font-size:12.5px}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 16px;margin:4px 0 0;padding:0;font-size:12.5px}
.sw{display:inline-block;width:18px;height:10px;margin-right:5px;vertical-align:middle}
.sw.line{border-top:2.5px solid var(--c);height:0}.sw.dashed{border-top:2.5px dashed var(--c);height:0}
.sw.area{background:var(--c);opacity:.7}.sw.rule{border-top:2px dashed var(--c);height:0}
svg.chart{width:100%;height:auto;display:block}
svg.chart text{font:11px system-ui,"DejaVu Sans",sans-serif;fill:#333}
svg.chart .tick.y-left,svg.chart .axis-unit.left{text-anchor:end}svg.chart .tick.x{text-anchor:middle}
svg.chart .axis-unit{font-weight:600}
svg.chart .stage-band.even{fill:var(--band)}svg.chart .stage-band.odd{fill:#fafbfc}
svg.chart .stage-label{font-weight:600;fill:#444}
svg.chart .grid line{stroke:#d5d9df;stroke-width:.6}svg.chart .x-tick{stroke:#999}
svg.chart polyline.series{stroke-width:1.8;stroke-linejoin:round}
svg.chart path.series{opacity:.62}
svg.chart .rule{stroke-width:1.5;stroke-dasharray:7 3}svg.chart .rule-label{text-anchor:end;font-weight:600}
svg.chart .marker.major{stroke-width:1.6;stroke-dasharray:4 2}svg.chart .marker.minor{stroke-width:1;stroke-dasharray:2 3}
svg.chart .marker-label{font-size:10.5px;font-weight:600}
svg.chart .frame{fill:none;stroke:#aab}
svg.chart .cursor{stroke:#000;stroke-width:.8;stroke-dasharray:2 2}
.readout{min-height:1.4em;font:12px ui-monospace,"DejaVu Sans Mono",monospace;color:#333;white-space:pre-wrap}
.no-data{padding:14px;border:1px dashed #bbb;color:var(--mute);background:#fafafa;margin:6px 0}
.missing-samples{border-color:var(--inc);color:#000;background:#fdf1d3}
.note{color:var(--mute);font-size:13px}
.two{display:grid;grid-template-columns:1fr 1fr;gap:18px}
td.fn{position:relative;word-break:break-all}
td.fn .bar{position:absolute;left:0;top:3px;bottom:3px;background:#E69F00;opacity:.28;border-radius:2px}td.fn .bar.neg{background:#56B4E9}
td.fn code{position:relative}
.release-card{border:1px solid var(--line);border-radius:8px;padding:6px 14px;margin:8px 0}
.release-card .explanation{font-size:15px;margin:4px 0 8px}
th small,td small{display:block;color:var(--mute);font-size:11px;font-weight:400}
table.before-after{width:auto;min-width:60%;margin:6px 0 10px}table.before-after th[scope=row]{font-weight:400}
table.before-after th[scope=row] small{display:inline;margin-left:8px}table.before-after td,table.before-after th{padding:4px 12px}
ul.retention{margin:4px 0 10px;padding-left:20px}ul.retention li.bad{color:#a33f00}
tr.group th{background:#fafbfc;text-align:left;font-size:12px;color:var(--mute);font-weight:600;padding-top:8px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:4px 0}dl.kv dt{font-size:13px}
footer{margin-top:30px;color:var(--mute);font-size:12px}
@media (max-width:760px){.two{grid-template-columns:1fr}.facts dl{grid-template-columns:1fr}.facts .wide{grid-column:span 1}header.top{flex-direction:column;align-items:flex-start}}
@media print{body{background:#fff}main{max-width:none;padding:0}.readout,svg.chart .cursor{display:none}
.verdict{-webkit-print-color-adjust:exact;print-color-adjust:exact}section{break-inside:auto}}
)CSS";

// The hover read-out: every chart follows the pointer's time; each shows its series' values at the
// nearest point. Text is set with textContent (names in the data are untrusted).
constexpr const char* kScript = R"JS(
(function(){
var figs=[].slice.call(document.querySelectorAll('figure.chart-fig'));
var data=figs.map(function(f){var s=f.querySelector('script.chart-data');return s?JSON.parse(s.textContent):null;});
function fmt(kind,noun,v){
if(kind==='bytes'){var u=['B','KiB','MiB','GiB','TiB'],i=0;while(Math.abs(v)>=1024&&i<4){v/=1024;i++;}return (i?v.toFixed(1):v.toFixed(0))+' '+u[i];}
if(kind==='ms')return v.toFixed(v<10?2:1)+' ms';
if(kind==='percent')return v.toFixed(1)+' %';
if(kind==='per_s')return v.toFixed(2)+'/s';
return Math.round(v).toLocaleString('en-US')+(noun?' '+noun:'');}
function nearest(t,ts){var lo=0,hi=ts.length-1;while(hi-lo>1){var m=(lo+hi)>>1;if(ts[m]<t)lo=m;else hi=m;}return Math.abs(ts[lo]-t)<=Math.abs(ts[hi]-t)?lo:hi;}
function show(t,cursor){figs.forEach(function(f,i){var d=data[i];if(!d)return;
var c=f.querySelector('line.cursor');if(c){var x=cursor?d.x0+(t-d.t0)/(d.t1-d.t0)*(d.x1-d.x0):-10;c.setAttribute('x1',x);c.setAttribute('x2',x);}
var parts=['t='+t.toFixed(1)+'s'];d.series.forEach(function(s){if(!s.t.length)return;var k=nearest(t,s.t);parts.push(s.name+' '+fmt(s.kind,s.noun,s.v[k]));});
var out=f.querySelector('.readout');if(out)out.textContent=parts.join('  \u00b7  ');});}
figs.forEach(function(f,i){var svg=f.querySelector('svg');var d=data[i];if(!svg||!d)return;
svg.addEventListener('mousemove',function(e){var r=svg.getBoundingClientRect();if(!r.width)return;var xv=(e.clientX-r.left)/r.width*d.w;
var t=d.t0+(xv-d.x0)/(d.x1-d.x0)*(d.t1-d.t0);show(Math.max(d.t0,Math.min(d.t1,t)),true);});
svg.addEventListener('mouseleave',function(){show(d.t1,false);});});
var first=data.filter(function(d){return d;})[0];if(first)show(first.t1,false);
// A table wider than the window scrolls inside its box; mark by how much (the browser test checks
// that none does at 1280 px).
document.querySelectorAll('.scroll').forEach(function(s){if(s.scrollWidth>s.clientWidth+1)s.setAttribute('data-overflows',String(s.scrollWidth-s.clientWidth));});
document.body.setAttribute('data-script','ok');
})();
)JS";

}  // namespace

std::string renderHtmlReport(const json& report, const RunSeries* series, const HtmlReportOptions& options) {
  std::ostringstream o;
  const ReportView view = decodeReport(report);
  const std::string& name = view.plan_name;
  const std::string& verdict = view.verdict;
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "img-src data:\">\n"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>memstrain: "
    << esc(name) << " — " << esc(verdict.empty() ? "no verdict" : verdict) << "</title>\n";
  // Any script error is recorded on the page, where a headless browser test can see it.
  o << "<script>window.addEventListener('error',function(e){document.documentElement.setAttribute('data-js-error',String(e.message));});</"
       "script>\n";
  o << "<style>" << kCss << "</style>\n</head>\n<body>\n<main>\n";
  renderHeader(o, view);
  html::renderChecks(o, view);
  html::renderCharts(o, view, series, options);
  html::renderStages(o, view);
  html::renderHeapGrowth(o, view);
  html::renderRelease(o, view);
  html::renderEvents(o, view);
  o << "<footer>memstrain " << esc(view.tool_version) << " · report schema "
    << esc(view.schema_version ? std::to_string(*view.schema_version) : std::string()) << " · plan " << esc(view.plan_path);
  if (!view.plan_sha256.empty()) o << " (sha256 <code>" << esc(view.plan_sha256.substr(0, 16)) << "…</code>)";
  o << " · made from report.json" << (series ? " and samples.jsonl" : "") << "</footer>\n</main>\n";
  o << "<script>" << kScript << "</script>\n</body>\n</html>\n";
  return o.str();
}

std::string samplesPathFor(const std::string& report_json_path) {
  const auto slash = report_json_path.find_last_of('/');
  return slash == std::string::npos ? "samples.jsonl" : report_json_path.substr(0, slash + 1) + "samples.jsonl";
}

std::string renderHtmlReportWithSamples(const json& report, const std::string& samples_path, std::string* warning) {
  auto series = readSamplesFile(samples_path);
  HtmlReportOptions opt;
  if (!series) {
    opt.missing_series_note =
        "No time series: " + series.error().message +
        ". The charts are drawn from samples.jsonl, which memstrain run writes beside report.json; keep both files together. "
        "The tables below come from report.json alone.";
    if (warning) *warning = "charts left out: " + series.error().message;
    return renderHtmlReport(report, nullptr, opt);
  }
  return renderHtmlReport(report, &*series, opt);
}

}  // namespace memstrain
