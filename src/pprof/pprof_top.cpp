#include "memstrain/pprof/pprof_top.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace memstrain {
namespace {

std::int64_t abs64(std::int64_t v) {
  // |INT64_MIN| does not fit; saturate rather than overflow (a profile can hold any value).
  if (v == std::numeric_limits<std::int64_t>::min()) return std::numeric_limits<std::int64_t>::max();
  return v < 0 ? -v : v;
}

// Wrapping addition: values come from untrusted profiles and signed overflow would be UB. pprof
// (Go) wraps too, so results agree even then.
std::int64_t addWrap(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

std::int64_t subWrap(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}

std::string_view baseName(std::string_view path) {
  auto slash = path.find_last_of('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// Flat and cum per function name for one sample index of one profile.
struct Aggregate {
  std::vector<std::string> names;
  std::vector<std::int64_t> flat;
  std::vector<std::int64_t> cum;
  std::int64_t abs_total = 0;
};

class NodeNamer {
 public:
  std::uint32_t idFor(std::string_view name) {
    auto it = ids_.find(name);
    if (it != ids_.end()) return it->second;
    auto id = static_cast<std::uint32_t>(names_.size());
    names_.emplace_back(name);
    // Keys view the strings owned by the profile or by `unnamed_`, which outlive the map.
    ids_.emplace(name, id);
    return id;
  }
  std::vector<std::string> takeNames() { return std::move(names_); }
  std::size_t size() const { return names_.size(); }

 private:
  std::unordered_map<std::string_view, std::uint32_t> ids_;
  std::vector<std::string> names_;
};

Aggregate aggregate(const HeapProfile& p, std::size_t value_index) {
  NodeNamer namer;

  // Names for frames without a function name: "[binary]" per mapping, else "<unknown>".
  std::vector<std::string> unnamed(p.mappings.size() + 1);
  for (std::size_t m = 0; m < p.mappings.size(); ++m) {
    std::string_view base = baseName(p.mappings[m].filename);
    unnamed[m] = base.empty() ? std::string("<unknown>") : "[" + std::string(base) + "]";
  }
  unnamed.back() = "<unknown>";
  auto unnamedFor = [&](const ProfileLocation& loc) -> const std::string& {
    return loc.mapping_index == ProfileLocation::kNoMapping ? unnamed.back() : unnamed[loc.mapping_index];
  };

  // Node of each function (kNone when the function has no name and so depends on the location).
  constexpr std::uint32_t kNone = 0xFFFFFFFFu;
  std::vector<std::uint32_t> function_node(p.functions.size(), kNone);
  for (std::size_t f = 0; f < p.functions.size(); ++f) {
    if (!p.functions[f].name.empty()) function_node[f] = namer.idFor(p.functions[f].name);
  }

  // Nodes of each location, flattened: loc_nodes[loc_begin[l] .. loc_begin[l + 1]), innermost first.
  std::vector<std::uint32_t> loc_begin(p.locations.size() + 1);
  std::vector<std::uint32_t> loc_nodes;
  loc_nodes.reserve(p.lines.size() + p.locations.size());
  for (std::size_t l = 0; l < p.locations.size(); ++l) {
    loc_begin[l] = static_cast<std::uint32_t>(loc_nodes.size());
    const ProfileLocation& loc = p.locations[l];
    if (loc.line_count == 0) {
      loc_nodes.push_back(namer.idFor(unnamedFor(loc)));
      continue;
    }
    for (const ProfileLine& line : locationLines(p, loc)) {
      std::uint32_t node = line.function_index == ProfileLine::kNoFunction ? kNone : function_node[line.function_index];
      if (node == kNone) node = namer.idFor(unnamedFor(loc));
      loc_nodes.push_back(node);
    }
  }
  loc_begin[p.locations.size()] = static_cast<std::uint32_t>(loc_nodes.size());

  Aggregate out;
  const std::size_t n_nodes = namer.size();
  out.flat.assign(n_nodes, 0);
  out.cum.assign(n_nodes, 0);
  // last_sample[node] == i + 1 once sample i has added to node's cum: each function counts once
  // per sample however often it recurs, without clearing a set per sample.
  std::vector<std::uint32_t> last_sample(n_nodes, 0);
  const std::size_t n_types = p.sample_types.size();
  for (std::size_t i = 0; i < p.samples.size(); ++i) {
    const std::int64_t v = p.sample_values[i * n_types + value_index];
    out.abs_total = addWrap(out.abs_total, abs64(v));
    if (v == 0) continue;
    const auto stamp = static_cast<std::uint32_t>(i + 1);
    const ProfileSample& s = p.samples[i];
    for (std::uint32_t loc : sampleStack(p, s)) {
      for (std::uint32_t k = loc_begin[loc]; k < loc_begin[loc + 1]; ++k) {
        const std::uint32_t node = loc_nodes[k];
        if (last_sample[node] != stamp) {
          last_sample[node] = stamp;
          out.cum[node] = addWrap(out.cum[node], v);
        }
      }
    }
    if (s.location_count > 0) {
      const std::uint32_t leaf = p.sample_locations[s.first_location];
      const std::uint32_t node = loc_nodes[loc_begin[leaf]];
      out.flat[node] = addWrap(out.flat[node], v);
    }
  }
  out.names = namer.takeNames();
  return out;
}

void sortLikePprof(std::vector<TopRow>& rows) {
  std::sort(rows.begin(), rows.end(), [](const TopRow& a, const TopRow& b) {
    if (abs64(a.flat) != abs64(b.flat)) return abs64(a.flat) > abs64(b.flat);
    if (a.name != b.name) return a.name < b.name;
    return abs64(a.cum) > abs64(b.cum);
  });
}

std::string listTypes(const HeapProfile& p) {
  std::string out;
  for (const auto& t : p.sample_types) {
    if (!out.empty()) out += ", ";
    out += t.type;
  }
  return out.empty() ? "none" : out;
}

}  // namespace

Result<std::size_t> resolveSampleIndex(const HeapProfile& p, std::string_view name) {
  if (p.sample_types.empty()) return Error{"profile has no sample types"};
  if (name.empty()) {
    if (!p.default_sample_type.empty()) {
      for (std::size_t i = 0; i < p.sample_types.size(); ++i) {
        if (p.sample_types[i].type == p.default_sample_type) return i;
      }
    }
    return p.sample_types.size() - 1;
  }
  for (std::size_t i = 0; i < p.sample_types.size(); ++i) {
    if (p.sample_types[i].type == name) return i;
  }
  return Error{"sample type \"" + std::string(name) + "\" not in profile (it has: " + listTypes(p) + ")"};
}

Result<TopReport> computeTop(const HeapProfile& p, std::string_view sample_type) {
  auto idx = resolveSampleIndex(p, sample_type);
  if (!idx) return idx.error();
  Aggregate agg = aggregate(p, *idx);
  TopReport report;
  report.sample_type = p.sample_types[*idx].type;
  report.unit = p.sample_types[*idx].unit;
  report.total = agg.abs_total;
  for (std::size_t n = 0; n < agg.names.size(); ++n) {
    if (agg.flat[n] == 0 && agg.cum[n] == 0) continue;
    report.rows.push_back(TopRow{std::move(agg.names[n]), agg.flat[n], agg.cum[n]});
  }
  sortLikePprof(report.rows);
  return report;
}

Result<TopReport> computeDiff(const HeapProfile& base, const HeapProfile& current, std::string_view sample_type) {
  auto idx = resolveSampleIndex(current, sample_type);
  if (!idx) return idx.error();
  const ProfileValueType& type = current.sample_types[*idx];
  // Like pprof's merge for -diff_base: the profiles must measure the same things in the same order.
  auto sameTypes = [](const std::vector<ProfileValueType>& x, const std::vector<ProfileValueType>& y) {
    return std::equal(x.begin(), x.end(), y.begin(), y.end(),
                      [](const ProfileValueType& a, const ProfileValueType& b) { return a.type == b.type && a.unit == b.unit; });
  };
  if (!sameTypes(base.sample_types, current.sample_types)) {
    return Error{"incompatible sample types: base profile has (" + listTypes(base) + "), the other (" + listTypes(current) + ")"};
  }
  if (base.period_type.type != current.period_type.type || base.period_type.unit != current.period_type.unit) {
    return Error{"incompatible period types: base profile has " + base.period_type.type + "/" + base.period_type.unit + ", the other " +
                 current.period_type.type + "/" + current.period_type.unit};
  }
  const std::size_t base_idx = *idx;
  Aggregate a = aggregate(base, base_idx);
  Aggregate b = aggregate(current, *idx);

  std::unordered_map<std::string_view, std::size_t> row_of;
  std::vector<TopRow> rows;
  rows.reserve(b.names.size());
  for (std::size_t n = 0; n < b.names.size(); ++n) {
    row_of.emplace(b.names[n], rows.size());
    rows.push_back(TopRow{b.names[n], b.flat[n], b.cum[n]});
  }
  for (std::size_t n = 0; n < a.names.size(); ++n) {
    auto it = row_of.find(a.names[n]);
    std::size_t r;
    if (it == row_of.end()) {
      r = rows.size();
      rows.push_back(TopRow{a.names[n], 0, 0});
    } else {
      r = it->second;
    }
    rows[r].flat = subWrap(rows[r].flat, a.flat[n]);
    rows[r].cum = subWrap(rows[r].cum, a.cum[n]);
  }

  TopReport report;
  report.sample_type = type.type;
  report.unit = type.unit;
  report.is_diff = true;
  report.total = a.abs_total > 0 ? a.abs_total : b.abs_total;
  std::erase_if(rows, [](const TopRow& r) { return r.flat == 0 && r.cum == 0; });
  report.rows = std::move(rows);
  sortLikePprof(report.rows);
  return report;
}

std::int64_t flatSum(const TopReport& report, std::size_t n) {
  std::int64_t sum = 0;
  for (std::size_t i = 0; i < std::min(n, report.rows.size()); ++i) sum = addWrap(sum, report.rows[i].flat);
  return sum;
}

}  // namespace memstrain
