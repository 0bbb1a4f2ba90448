#include "memstrain/report/chart_scale.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace memstrain {

Ticks niceTicks(double lo, double hi, int max_ticks) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = hi = 0;
  if (lo > hi) std::swap(lo, hi);
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) {
    // A flat series: give it a unit of room (or 10% of its value) around it.
    const double pad = lo == 0 ? 1.0 : std::fabs(lo) * 0.1;
    hi = lo + pad;
    if (lo != 0) lo -= pad;
  }
  max_ticks = std::max(max_ticks, 2);
  const double raw = (hi - lo) / (max_ticks - 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  Ticks t;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0, 20.0}) {
    const double step = m * mag;
    const double a = std::floor(lo / step + 1e-9) * step;
    const double b = std::ceil(hi / step - 1e-9) * step;
    const long n = std::lround((b - a) / step) + 1;
    if (n <= max_ticks) {
      t.lo = a;
      t.hi = b;
      t.step = step;
      for (long i = 0; i < n; ++i) {
        double v = a + static_cast<double>(i) * step;
        if (std::fabs(v) < step * 1e-9) v = 0;
        t.values.push_back(v);
      }
      return t;
    }
  }
  // Not reached for max_ticks >= 2 (a step of 20 × mag always fits); keep a sane fallback.
  t.lo = lo;
  t.hi = hi;
  t.step = hi - lo;
  t.values = {lo, hi};
  return t;
}

double LinearScale::operator()(double v) const {
  if (d1 == d0) return (r0 + r1) / 2;
  return r0 + (v - d0) * (r1 - r0) / (d1 - d0);
}

AxisUnit chooseAxisUnit(ValueKind kind, double max_value, std::string_view count_noun) {
  const double m = std::fabs(max_value);
  switch (kind) {
    case ValueKind::kBytes: {
      static constexpr std::array<const char*, 5> kNames{"B", "KiB", "MiB", "GiB", "TiB"};
      double div = 1;
      std::size_t i = 0;
      while (i + 1 < kNames.size() && m >= div * 1024) {
        div *= 1024;
        ++i;
      }
      return {div, kNames[i]};
    }
    case ValueKind::kCount: {
      const std::string noun = count_noun.empty() ? std::string() : " " + std::string(count_noun);
      if (m >= 1e7) return {1e6, "M" + noun};
      if (m >= 1e4) return {1e3, "k" + noun};
      return {1, noun.empty() ? "count" : std::string(count_noun)};
    }
    case ValueKind::kMilliseconds: return {1, "ms"};
    case ValueKind::kPercent: return {1, "%"};
    case ValueKind::kSeconds: return {1, "s"};
    case ValueKind::kPerSecond: return {1, "/s"};
  }
  return {1, ""};
}

std::string formatTick(double value, double step) {
  int decimals = 0;
  const double s = std::fabs(step);
  while (decimals < 3 && s > 0 && std::fabs(s * std::pow(10.0, decimals) - std::round(s * std::pow(10.0, decimals))) > 1e-6) ++decimals;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  std::string out = buf;
  if (out.size() > 1 && out[0] == '-' && out.find_first_not_of("-0.") == std::string::npos) out.erase(0, 1);
  return out;
}

namespace {
std::string withThousands(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  std::string digits = buf;
  std::string sign;
  if (!digits.empty() && digits[0] == '-') {
    sign = "-";
    digits.erase(0, 1);
  }
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return sign + out;
}
}  // namespace

std::string formatValue(ValueKind kind, double value, std::string_view count_noun) {
  char buf[64];
  switch (kind) {
    case ValueKind::kBytes: {
      const AxisUnit u = chooseAxisUnit(kind, value);
      std::snprintf(buf, sizeof buf, u.divisor == 1 ? "%.0f %s" : "%.1f %s", value / u.divisor, u.name.c_str());
      return buf;
    }
    case ValueKind::kMilliseconds:
      std::snprintf(buf, sizeof buf, value < 10 ? "%.2f ms" : value < 100 ? "%.1f ms" : "%.0f ms", value);
      return buf;
    case ValueKind::kCount: return withThousands(value) + (count_noun.empty() ? "" : " " + std::string(count_noun));
    case ValueKind::kPercent: std::snprintf(buf, sizeof buf, "%.1f %%", value); return buf;
    case ValueKind::kSeconds: std::snprintf(buf, sizeof buf, "%.1f s", value); return buf;
    case ValueKind::kPerSecond: std::snprintf(buf, sizeof buf, "%.2f /s", value); return buf;
  }
  return "";
}

std::vector<std::size_t> downsampleIndices(const std::vector<double>& values, std::size_t max_points) {
  const std::size_t n = values.size();
  std::vector<std::size_t> out;
  if (n <= max_points) {
    for (std::size_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  if (max_points < 4) {
    // No room for a bucket: the ends only.
    if (max_points >= 1) out.push_back(0);
    if (max_points >= 2) out.push_back(n - 1);
    return out;
  }
  const std::size_t buckets = (max_points - 2) / 2;
  out.reserve(2 * buckets + 2);
  out.push_back(0);
  for (std::size_t b = 0; b < buckets; ++b) {
    // Interior points 1..n-2 split evenly.
    const std::size_t begin = 1 + b * (n - 2) / buckets;
    const std::size_t end = 1 + (b + 1) * (n - 2) / buckets;
    if (begin >= end) continue;
    std::size_t lo = begin, hi = begin;
    for (std::size_t i = begin; i < end; ++i) {
      if (values[i] < values[lo]) lo = i;
      if (values[i] > values[hi]) hi = i;
    }
    const std::size_t first = std::min(lo, hi), second = std::max(lo, hi);
    if (first > out.back()) out.push_back(first);
    if (second > out.back()) out.push_back(second);
  }
  if (n - 1 > out.back()) out.push_back(n - 1);
  return out;
}

std::vector<int> layoutLabelRows(const std::vector<std::pair<double, double>>& spans, int max_rows, double gap) {
  std::vector<int> rows(spans.size(), -1);
  std::vector<std::vector<std::pair<double, double>>> placed(static_cast<std::size_t>(std::max(max_rows, 0)));
  for (std::size_t i = 0; i < spans.size(); ++i) {
    for (std::size_t r = 0; r < placed.size(); ++r) {
      const bool clash = std::any_of(placed[r].begin(), placed[r].end(), [&](const std::pair<double, double>& p) {
        return spans[i].first < p.second + gap && p.first < spans[i].second + gap;
      });
      if (!clash) {
        placed[r].push_back(spans[i]);
        rows[i] = static_cast<int>(r);
        break;
      }
    }
  }
  return rows;
}

std::string fitLabel(std::string_view text, double width_px, double char_px) {
  // Count code points, not bytes: plan names may be UTF-8.
  auto isCont = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  std::size_t chars = 0;
  for (char c : text) chars += isCont(c) ? 0 : 1;
  const double fit = char_px > 0 ? width_px / char_px : 0;
  if (static_cast<double>(chars) <= fit) return std::string(text);
  if (fit < 2) return "";
  const std::size_t keep = static_cast<std::size_t>(fit) - 1;  // room for the ellipsis
  std::size_t seen = 0, i = 0;
  for (; i < text.size(); ++i) {
    if (!isCont(text[i])) {
      if (seen == keep) break;
      ++seen;
    }
  }
  return std::string(text.substr(0, i)) + "\u2026";
}

}  // namespace memstrain
