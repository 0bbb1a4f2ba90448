#include "memstrain/report/prom_text.hpp"

#include <charconv>
#include <cmath>
#include <sstream>

namespace memstrain {
namespace {

const char* typeName(PromText::Type t) {
  switch (t) {
    case PromText::Type::kGauge: return "gauge";
    case PromText::Type::kCounter: return "counter";
    case PromText::Type::kSummary: return "summary";
    case PromText::Type::kHistogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string promFormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // The shortest text that reads back as the same double ("0.0125", not "0.012500000000000001").
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

void PromText::family(const std::string& name, Type type, const std::string& help) { families_.push_back({name, help, type, {}}); }

void PromText::add(const std::string& name, const PromLabels& labels, double value, const std::string& suffix) {
  for (auto& f : families_) {
    if (f.name != name) continue;
    std::string line = name + suffix;
    bool first = true;
    auto label = [&](const std::string& k, const std::string& v) {
      line += (first ? "{" : ",") + k + "=\"" + prometheusLabel(v) + "\"";
      first = false;
    };
    for (const auto& [k, v] : common_) label(k, v);
    for (const auto& [k, v] : labels) label(k, v);
    if (!first) line += "}";
    line += " " + promFormatValue(value) + "\n";
    f.samples.push_back(std::move(line));
    return;
  }
}

void PromText::add(const std::string& name, const PromLabels& labels, const std::optional<double>& value, const std::string& suffix) {
  if (value) add(name, labels, *value, suffix);
}

std::string PromText::str() const {
  std::ostringstream o;
  for (const auto& f : families_) {
    if (f.samples.empty()) continue;
    o << "# HELP " << f.name << " " << prometheusHelp(f.help) << "\n# TYPE " << f.name << " " << typeName(f.type) << "\n";
    for (const auto& s : f.samples) o << s;
  }
  return o.str();
}

}  // namespace memstrain
