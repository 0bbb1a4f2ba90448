#include "memstrain/report/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace memstrain {
namespace {

using G = ChartGeometry;

std::string f1(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", std::isfinite(v) ? v : 0.0);
  return b;
}

struct AxisScale {
  AxisUnit unit;
  Ticks ticks;
  LinearScale y;
};

AxisScale makeAxis(const ChartSpec& spec, const ChartAxis& axis, int which) {
  double hi = 0;
  for (const auto& s : spec.series) {
    if (s.axis != which) continue;
    for (double v : s.v) {
      if (std::isfinite(v)) hi = std::max(hi, v);
    }
  }
  for (const auto& r : spec.rules) {
    if (r.axis == which && std::isfinite(r.value)) hi = std::max(hi, r.value);
  }
  if (axis.max) hi = *axis.max;
  AxisScale a;
  a.unit = chooseAxisUnit(axis.kind, hi, axis.count_noun);
  // About one tick per 36 px of height keeps labels apart.
  a.ticks = niceTicks(0, hi / a.unit.divisor, 6);
  a.y = LinearScale{a.ticks.lo * a.unit.divisor, a.ticks.hi * a.unit.divisor, G::kBottom, G::kTop};
  return a;
}

std::string timeTick(double t_s, double step_s, bool minutes) {
  if (minutes) return formatTick(t_s / 60, step_s / 60) + "m";
  return formatTick(t_s, step_s) + "s";
}

}  // namespace

std::string jsonForScript(const nlohmann::json& j) {
  const std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '<')
      out += "\\u003c";
    else if (c == '>')
      out += "\\u003e";
    else if (c == '&')
      out += "\\u0026";
    else
      out += c;
  }
  return out;
}

std::string renderSvgChart(const ChartSpec& spec) {
  const double t1 = spec.t1 > spec.t0 ? spec.t1 : spec.t0 + 1;
  const LinearScale x{spec.t0, t1, G::kLeft, G::kRight};
  const AxisScale left = makeAxis(spec, spec.left, 0);
  std::optional<AxisScale> right;
  if (spec.right) right = makeAxis(spec, *spec.right, 1);
  auto yOf = [&](int axis, double v) { return axis == 1 && right ? right->y(v) : left.y(v); };

  std::ostringstream o;
  const std::string id = htmlEscape(spec.id);
  o << "<svg id=\"" << id << "\" class=\"chart\" viewBox=\"0 0 " << G::kWidth << " " << G::kHeight << "\" role=\"img\" aria-label=\""
    << htmlEscape(spec.title) << "\" xmlns=\"http://www.w3.org/2000/svg\">\n";
  o << "<defs><clipPath id=\"" << id << "-clip\"><rect x=\"" << G::kLeft << "\" y=\"" << G::kTop << "\" width=\"" << G::kRight - G::kLeft
    << "\" height=\"" << G::kBottom - G::kTop << "\"/></clipPath></defs>\n";

  // Stage bands, alternately shaded, labelled inside the top of the plot.
  o << "<g class=\"bands\">\n";
  for (std::size_t i = 0; i < spec.bands.size(); ++i) {
    const ChartBand& b = spec.bands[i];
    const double xa = std::clamp(x(b.t0), G::kLeft, G::kRight), xb = std::clamp(x(b.t1), G::kLeft, G::kRight);
    o << "<rect class=\"stage-band " << (i % 2 ? "odd" : "even") << "\" data-stage=\"" << htmlEscape(b.label) << "\" data-t0=\"" << b.t0
      << "\" data-t1=\"" << b.t1 << "\" x=\"" << f1(xa) << "\" y=\"" << G::kTop << "\" width=\"" << f1(xb - xa) << "\" height=\""
      << G::kBottom - G::kTop << "\"><title>" << htmlEscape(b.label) << "</title></rect>\n";
    const std::string text = fitLabel(b.label, xb - xa - 8, 6.6);
    if (!text.empty()) {
      o << "<text class=\"stage-label\" x=\"" << f1(xa + 4) << "\" y=\"" << G::kTop + 12 << "\">" << htmlEscape(text) << "</text>\n";
    }
  }
  o << "</g>\n";

  // Horizontal grid and y tick labels; axis units above the axes.
  o << "<g class=\"grid\">\n";
  for (double v : left.ticks.values) {
    const double y = left.y(v * left.unit.divisor);
    o << "<line x1=\"" << G::kLeft << "\" x2=\"" << G::kRight << "\" y1=\"" << f1(y) << "\" y2=\"" << f1(y) << "\"/>"
      << "<text class=\"tick y-left\" x=\"" << G::kLeft - 6 << "\" y=\"" << f1(y + 4) << "\">" << formatTick(v, left.ticks.step)
      << "</text>\n";
  }
  o << "<text class=\"axis-unit left\" x=\"" << G::kLeft - 6 << "\" y=\"" << G::kTop - 8 << "\">" << htmlEscape(left.unit.name)
    << "</text>\n";
  if (right) {
    for (double v : right->ticks.values) {
      const double y = right->y(v * right->unit.divisor);
      o << "<text class=\"tick y-right\" x=\"" << G::kRight + 6 << "\" y=\"" << f1(y + 4) << "\">" << formatTick(v, right->ticks.step)
        << "</text>\n";
    }
    o << "<text class=\"axis-unit right\" x=\"" << G::kRight + 6 << "\" y=\"" << G::kTop - 8 << "\">" << htmlEscape(right->unit.name)
      << "</text>\n";
  }
  if (spec.x_axis) {
    // Value ticks (a size, a percent) with the axis unit on each label.
    const AxisUnit xu = chooseAxisUnit(spec.x_axis->kind, std::max(std::abs(spec.t0), std::abs(t1)), spec.x_axis->count_noun);
    const Ticks xt = niceTicks(spec.t0 / xu.divisor, t1 / xu.divisor, static_cast<int>((G::kRight - G::kLeft) / 80));
    for (double v : xt.values) {
      const double t = v * xu.divisor;
      if (t < spec.t0 - 1e-9 * std::abs(t1 - spec.t0) || t > t1 + 1e-9 * std::abs(t1 - spec.t0)) continue;
      const double px = x(t);
      o << "<line class=\"x-tick\" x1=\"" << f1(px) << "\" x2=\"" << f1(px) << "\" y1=\"" << G::kBottom << "\" y2=\"" << G::kBottom + 4
        << "\"/><text class=\"tick x\" x=\"" << f1(px) << "\" y=\"" << G::kBottom + 17 << "\">" << formatTick(v, xt.step)
        << htmlEscape(xu.name == "%" ? "%" : " " + xu.name) << "</text>\n";
    }
  }
  // Time ticks: one label per ~80 px at most; minutes for runs over 10 minutes.
  const bool minutes = t1 - spec.t0 > 600;
  const double tdiv = minutes ? 60 : 1;
  const Ticks tt = niceTicks(spec.t0 / tdiv, t1 / tdiv, static_cast<int>((G::kRight - G::kLeft) / 80));
  for (double v : spec.x_axis ? std::vector<double>{} : tt.values) {
    const double t = v * tdiv;
    if (t < spec.t0 - 1e-9 || t > t1 + 1e-9) continue;
    const double px = x(t);
    o << "<line class=\"x-tick\" x1=\"" << f1(px) << "\" x2=\"" << f1(px) << "\" y1=\"" << G::kBottom << "\" y2=\"" << G::kBottom + 4
      << "\"/><text class=\"tick x\" x=\"" << f1(px) << "\" y=\"" << G::kBottom + 17 << "\">" << timeTick(t, tt.step * tdiv, minutes)
      << "</text>\n";
  }
  o << "</g>\n";

  // Series.
  o << "<g class=\"plot\" clip-path=\"url(#" << id << "-clip)\">\n";
  for (const auto& r : spec.rules) {
    const double y = yOf(r.axis, r.value);
    o << "<line class=\"rule\" data-rule=\"" << htmlEscape(r.label) << "\" x1=\"" << G::kLeft << "\" x2=\"" << G::kRight << "\" y1=\""
      << f1(y) << "\" y2=\"" << f1(y) << "\" stroke=\"" << htmlEscape(r.color) << "\"/>"
      << "<text class=\"rule-label\" x=\"" << G::kRight - 4 << "\" y=\"" << f1(y - 4) << "\" fill=\"" << htmlEscape(r.color) << "\">"
      << htmlEscape(r.label) << "</text>\n";
  }
  for (const auto& s : spec.series) {
    const std::size_t n = std::min(s.t.size(), s.v.size());
    const std::string head = "class=\"series\" data-series=\"" + htmlEscape(s.key) + "\" data-points=\"" + std::to_string(n) + "\"";
    if (n == 0) continue;
    switch (s.style) {
      case ChartSeries::Style::kLine:
      case ChartSeries::Style::kDashed: {
        o << "<polyline " << head << " fill=\"none\" stroke=\"" << htmlEscape(s.color) << "\""
          << (s.style == ChartSeries::Style::kDashed ? " stroke-dasharray=\"5 3\"" : "") << " points=\"";
        for (std::size_t i = 0; i < n; ++i) o << (i ? " " : "") << f1(x(s.t[i])) << "," << f1(yOf(s.axis, s.v[i]));
        o << "\"/>\n";
        break;
      }
      case ChartSeries::Style::kArea: {
        o << "<path " << head << " fill=\"" << htmlEscape(s.color) << "\" d=\"";
        for (std::size_t i = 0; i < n; ++i) o << (i ? "L" : "M") << f1(x(s.t[i])) << "," << f1(yOf(s.axis, s.v[i]));
        for (std::size_t i = n; i-- > 0;) o << "L" << f1(x(s.t[i])) << "," << f1(yOf(s.axis, i < s.base.size() ? s.base[i] : 0.0));
        o << "Z\"/>\n";
        break;
      }
      case ChartSeries::Style::kBars: {
        // Each bar ends at its point's time and is as wide as the gap to the previous point.
        o << "<path " << head << " fill=\"" << htmlEscape(s.color) << "\" d=\"";
        const double y0 = yOf(s.axis, 0);
        for (std::size_t i = 0; i < n; ++i) {
          const double xr = x(s.t[i]);
          const double xl = i > 0 ? x(s.t[i - 1]) : x(std::max(spec.t0, s.t[i] - 1));
          const double y = yOf(s.axis, s.v[i]);
          o << "M" << f1(xl) << "," << f1(y0) << "V" << f1(y) << "H" << f1(std::max(xl + 0.5, xr - 0.5)) << "V" << f1(y0) << "Z";
        }
        o << "\"/>\n";
        break;
      }
    }
  }
  o << "</g>\n";

  // Event markers; their labels take rows below the stage labels and are dropped when crowded.
  std::vector<std::pair<double, double>> spans;
  for (const auto& m : spec.markers) {
    const double px = x(m.t);
    spans.emplace_back(px + 3, px + 3 + 6.2 * static_cast<double>(m.label.size()));
  }
  const std::vector<int> rows = layoutLabelRows(spans, 3, 4);
  o << "<g class=\"markers\">\n";
  for (std::size_t i = 0; i < spec.markers.size(); ++i) {
    const ChartMarker& m = spec.markers[i];
    const double px = std::clamp(x(m.t), G::kLeft, G::kRight);
    o << "<g class=\"marker-group\"><title>" << htmlEscape(m.detail) << "</title><line class=\"marker " << (m.major ? "major" : "minor")
      << "\" data-t=\"" << m.t << "\" x1=\"" << f1(px) << "\" x2=\"" << f1(px) << "\" y1=\"" << G::kTop << "\" y2=\"" << G::kBottom
      << "\" stroke=\"" << htmlEscape(m.color) << "\"/>";
    if (rows[i] >= 0 && !m.label.empty() && px + 3 < G::kRight) {
      o << "<text class=\"marker-label\" x=\"" << f1(px + 3) << "\" y=\"" << G::kTop + 26 + 12 * rows[i] << "\" fill=\""
        << htmlEscape(m.color) << "\">" << htmlEscape(fitLabel(m.label, G::kRight - px - 4, 6.2)) << "</text>";
    }
    o << "</g>\n";
  }
  o << "</g>\n";
  o << "<rect class=\"frame\" x=\"" << G::kLeft << "\" y=\"" << G::kTop << "\" width=\"" << G::kRight - G::kLeft << "\" height=\""
    << G::kBottom - G::kTop << "\"/>\n";
  o << "<line class=\"cursor\" x1=\"-10\" x2=\"-10\" y1=\"" << G::kTop << "\" y2=\"" << G::kBottom << "\"/>\n";
  o << "</svg>\n";
  return o.str();
}

nlohmann::json chartReadoutData(const ChartSpec& spec) {
  auto kindName = [](ValueKind k) {
    switch (k) {
      case ValueKind::kBytes: return "bytes";
      case ValueKind::kMilliseconds: return "ms";
      case ValueKind::kCount: return "count";
      case ValueKind::kPercent: return "percent";
      case ValueKind::kSeconds: return "s";
      case ValueKind::kPerSecond: return "per_s";
    }
    return "count";
  };
  nlohmann::json series = nlohmann::json::array();
  for (const auto& s : spec.series) {
    const ChartAxis& axis = s.axis == 1 && spec.right ? *spec.right : spec.left;
    // Rounded: the read-out shows at most 4 significant figures and the page stays small.
    nlohmann::json t = nlohmann::json::array(), v = nlohmann::json::array();
    for (std::size_t i = 0; i < std::min(s.t.size(), s.v.size()); ++i) {
      t.push_back(std::round(s.t[i] * 1000) / 1000);
      v.push_back(std::isfinite(s.v[i]) ? std::round(s.v[i] * 1000) / 1000 : 0.0);
    }
    series.push_back({{"name", s.name}, {"kind", kindName(axis.kind)}, {"noun", axis.count_noun}, {"color", s.color}, {"t", t}, {"v", v}});
  }
  return {{"x0", G::kLeft},  {"x1", G::kRight}, {"w", G::kWidth}, {"t0", spec.t0}, {"t1", spec.t1 > spec.t0 ? spec.t1 : spec.t0 + 1},
          {"series", series}};
}

}  // namespace memstrain
