#pragma once
// The Prometheus text exposition format (version 0.0.4), written one family at a time: the one
// writer of metrics.prom and of the live /metrics endpoint, so both escape, order and type alike.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "memstrain/report/escape.hpp"

namespace memstrain {

using PromLabels = std::vector<std::pair<std::string, std::string>>;

/// The shortest text that reads back as the same double; "NaN", "+Inf", "-Inf".
std::string promFormatValue(double v);

/// Families in the order they are declared, each with HELP and TYPE; samples in the order added.
/// A family without samples is left out. Every sample gets `common` labels first.
class PromText {
 public:
  enum class Type { kGauge, kCounter, kSummary, kHistogram };

  explicit PromText(PromLabels common = {}) : common_(std::move(common)) {}

  /// Declares a family. `name` is the base name (no _sum/_count/_bucket).
  void family(const std::string& name, Type type, const std::string& help);
  /// One sample of family `name`; `suffix` is "", "_sum", "_count" or "_bucket" (summaries and
  /// histograms). Samples of undeclared families are dropped (a bug, not input).
  void add(const std::string& name, const PromLabels& labels, double value, const std::string& suffix = "");
  /// The same, nothing when `value` is empty (report.json's nulls are left out, never written as 0).
  void add(const std::string& name, const PromLabels& labels, const std::optional<double>& value, const std::string& suffix = "");
  /// The exposition: "# HELP", "# TYPE" and the samples of every family that has any.
  std::string str() const;

 private:
  struct Family {
    std::string name, help;
    Type type;
    std::vector<std::string> samples;
  };
  PromLabels common_;
  std::vector<Family> families_;
};

}  // namespace memstrain
