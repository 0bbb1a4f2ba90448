#include "memstrain/cli/cmd_pprof.hpp"

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <exception>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>

#include <spdlog/spdlog.h>

#include "memstrain/cli/cli.hpp"
#include "memstrain/cli/options.hpp"
#include "memstrain/pprof/pprof_decode.hpp"
#include "memstrain/pprof/pprof_top.hpp"

namespace memstrain {
namespace {

namespace po = boost::program_options;

const CommandHelp kHelp{"memstrain pprof top FILE [options] | memstrain pprof diff BASE FILE [options]",
                        "top: flat and cum per function, like go tool pprof -top. diff: FILE minus BASE, like\n"
                        "go tool pprof -top -diff_base=BASE. FILE and BASE are pprof profiles (gzip-compressed or bare\n"
                        "protobuf), e.g. saved from /debug/pprof/heap or OUT/profiles/<stage>.pb.gz.",
                        "memstrain pprof top out/demo/profiles/hold.pb.gz --sample-index inuse_objects -n 20\n"
                        "memstrain pprof diff out/demo/profiles/baseline.pb.gz out/demo/profiles/hold.pb.gz --json",
                        "0 done, 2 usage error or an unreadable or invalid profile, 3 internal error"};

struct CommandOptions {
  std::string sample_index;
  std::size_t count = 20;
  bool json = false;
  bool raw_units = false;
};

// --- Value formatting, as pprof's measurement package does it ---------------------------------

struct ByteUnit {
  const char* name;
  double factor;
};
constexpr std::array<ByteUnit, 6> kByteUnits{{{"B", 1.0},
                                              {"kB", 1024.0},
                                              {"MB", 1024.0 * 1024},
                                              {"GB", 1024.0 * 1024 * 1024},
                                              {"TB", 1024.0 * 1024 * 1024 * 1024},
                                              {"PB", 1024.0 * 1024 * 1024 * 1024 * 1024}}};

std::int64_t absValue(std::int64_t v) {
  if (v == std::numeric_limits<std::int64_t>::min()) return std::numeric_limits<std::int64_t>::max();
  return v < 0 ? -v : v;
}

// The largest unit in which |v| is at least 1.
std::size_t minimumUnit(std::int64_t v) {
  const double a = static_cast<double>(absValue(v));
  std::size_t u = 0;
  while (u + 1 < kByteUnits.size() && a >= kByteUnits[u + 1].factor) ++u;
  return u;
}

// One unit for the whole report, chosen like pprof's selectOutputUnit: from the smallest non-zero
// row value, moved up a unit when the total is more than 100 times larger.
std::optional<std::size_t> chooseByteUnit(const TopReport& r, std::size_t shown) {
  std::int64_t min_value = 0;
  for (std::size_t i = 0; i < shown; ++i) {
    std::int64_t v = absValue(r.rows[i].flat);
    if (v == 0) v = absValue(r.rows[i].cum);
    if (v > 0 && (min_value == 0 || v < min_value)) min_value = v;
  }
  const std::int64_t max_value = r.total;
  if (min_value == 0) min_value = max_value;
  std::size_t unit = minimumUnit(min_value);
  if (unit != minimumUnit(max_value) && min_value < max_value / 100) {
    unit = minimumUnit(min_value > std::numeric_limits<std::int64_t>::max() / 100 ? min_value : min_value * 100);
  }
  return unit;
}

std::string trimmedFixed2(double v) {
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), "%.2f", v);
  std::string s = buf.data();
  if (s.size() > 3 && s.compare(s.size() - 3, 3, ".00") == 0) s.resize(s.size() - 3);
  if (s == "-0") s = "0";
  return s;
}

std::string formatValue(std::int64_t v, const std::optional<std::size_t>& byte_unit) {
  if (!byte_unit) return trimmedFixed2(static_cast<double>(v));
  const ByteUnit& u = kByteUnits[*byte_unit];
  std::string s = trimmedFixed2(static_cast<double>(v) / u.factor);
  return s == "0" ? s : s + u.name;
}

std::string formatPercent(std::int64_t value, std::int64_t total) {
  double ratio = 0;
  if (total != 0) ratio = std::fabs(static_cast<double>(value) / static_cast<double>(total)) * 100;
  std::array<char, 64> buf{};
  if (ratio >= 99.95 && ratio <= 100.05) return "  100%";
  if (ratio >= 1.0) {
    std::snprintf(buf.data(), buf.size(), "%5.2f%%", ratio);
  } else {
    // %g as Go prints it for small ratios ("0.53%", "0.0012%").
    std::snprintf(buf.data(), buf.size(), "%5.2g%%", ratio);
  }
  return buf.data();
}

std::string padLeft(const std::string& s, std::size_t width) { return s.size() >= width ? s : std::string(width - s.size(), ' ') + s; }

void printText(const TopReport& r, std::size_t shown, bool raw_units, std::ostream& out) {
  std::optional<std::size_t> byte_unit;
  if (r.unit == "bytes") byte_unit = raw_units ? std::optional<std::size_t>(0) : chooseByteUnit(r, shown);
  const std::int64_t shown_flat = flatSum(r, shown);
  out << "Type: " << r.sample_type << (r.is_diff ? " (diff: FILE - BASE)" : "") << "\n";
  std::string shown_percent = formatPercent(shown_flat, r.total);
  shown_percent.erase(0, shown_percent.find_first_not_of(' '));
  out << "Showing nodes accounting for " << formatValue(shown_flat, byte_unit) << ", " << shown_percent << " of "
      << formatValue(r.total, byte_unit) << " total\n";
  if (shown < r.rows.size()) out << "Showing top " << shown << " nodes out of " << r.rows.size() << "\n";
  out << padLeft("flat", 10) << " " << padLeft("flat", 5) << "% " << padLeft("sum", 5) << "% " << padLeft("cum", 10) << " "
      << padLeft("cum", 5) << "%\n";
  std::int64_t running = 0;
  for (std::size_t i = 0; i < shown; ++i) {
    const TopRow& row = r.rows[i];
    running = static_cast<std::int64_t>(static_cast<std::uint64_t>(running) + static_cast<std::uint64_t>(row.flat));
    out << padLeft(formatValue(row.flat, byte_unit), 10) << " " << formatPercent(row.flat, r.total) << " "
        << formatPercent(running, r.total) << " " << padLeft(formatValue(row.cum, byte_unit), 10) << " " << formatPercent(row.cum, r.total)
        << "  " << row.name << "\n";
  }
}

void printJson(const TopReport& r, std::size_t shown, std::ostream& out) {
  nlohmann::json rows = nlohmann::json::array();
  for (std::size_t i = 0; i < shown; ++i) {
    rows.push_back({{"name", r.rows[i].name}, {"flat", r.rows[i].flat}, {"cum", r.rows[i].cum}});
  }
  nlohmann::json doc = {{"sample_type", r.sample_type},
                        {"unit", r.unit},
                        {"diff", r.is_diff},
                        {"total", r.total},
                        {"nodes", r.rows.size()},
                        {"shown", shown},
                        {"shown_flat", flatSum(r, shown)},
                        {"rows", std::move(rows)}};
  // Function names are untrusted bytes; replace invalid UTF-8 rather than fail.
  out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

po::options_description commonOptions(CommandOptions& o) {
  po::options_description desc;
  desc.add_options()("sample-index", po::value<std::string>(&o.sample_index),
                     "inuse_objects | inuse_space | alloc_objects | alloc_space (default: the profile's default, "
                     "else its last type, as go tool pprof)")("count,n", po::value<std::size_t>(&o.count)->default_value(20),
                                                              "rows to show (0 = all)")("json", po::bool_switch(&o.json),
                                                                                        "print JSON instead of text")(
      "unit", po::value<std::string>()->default_value("auto"), "byte values: auto (scaled like go tool pprof, 1024-based) or B (exact)");
  return desc;
}

int runCommand(const std::vector<std::string>& args, std::ostream& out) {
  const std::string sub = args.empty() ? "" : args[0];
  if (sub != "top" && sub != "diff") {
    // `pprof --help` (or no subcommand): the help of both; anything else is a usage error.
    CommandOptions o;
    po::variables_map vm;
    std::vector<std::string> rest = args;
    if (sub == "help") rest = {"--help"};
    if (sub.empty() || (sub[0] != '-' && sub != "help")) rest.clear();
    if (auto done = parseCommandLine(rest, commonOptions(o), {}, kHelp, vm, out); done) return *done;
    spdlog::error("pprof: {}; usage: {} (see --help)",
                  sub.empty() ? "missing top or diff" : "unknown subcommand \"" + sub + "\" (expected top or diff)", kHelp.usage);
    return kExitUsage;
  }
  const std::size_t n_files = sub == "top" ? 1 : 2;

  CommandOptions o;
  po::variables_map vm;
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (auto done = parseCommandLine(rest, commonOptions(o), {{"file", -1, false}}, kHelp, vm, out)) return *done;
  const std::string unit = vm["unit"].as<std::string>();
  if (unit != "auto" && unit != "B") {
    spdlog::error("pprof {}: --unit: expected auto or B, got \"{}\"", sub, unit);
    return kExitUsage;
  }
  o.raw_units = unit == "B";
  std::vector<std::string> files;
  if (vm.count("file") != 0) files = vm["file"].as<std::vector<std::string>>();
  if (files.size() != n_files) {
    spdlog::error("pprof {}: expected {}, got {} file argument(s); usage: {}", sub, n_files == 1 ? "FILE" : "BASE FILE", files.size(),
                  kHelp.usage);
    return kExitUsage;
  }

  std::vector<HeapProfile> profiles;
  for (const std::string& f : files) {
    auto p = readProfileFile(f);
    if (!p) {
      spdlog::error("pprof {}: {}", sub, p.error().message);
      return kExitUsage;
    }
    profiles.push_back(std::move(p).value());
  }
  auto report = n_files == 1 ? computeTop(profiles[0], o.sample_index) : computeDiff(profiles[0], profiles[1], o.sample_index);
  if (!report) {
    spdlog::error("pprof {}: {}: {}", sub, files.back(), report.error().message);
    return kExitUsage;
  }
  const std::size_t shown = o.count == 0 ? report->rows.size() : std::min(o.count, report->rows.size());
  if (o.json) {
    printJson(*report, shown, out);
  } else {
    printText(*report, shown, o.raw_units, out);
  }
  out.flush();
  return kExitPass;
}

}  // namespace

int runPprofCommand(const std::vector<std::string>& args, std::ostream& out) {
  // The exception boundary of this command: nothing below is expected to throw, but allocation
  // failure or a stream error must still end as a message and an exit code.
  try {
    return runCommand(args, out);
  } catch (const std::exception& e) {
    spdlog::error("pprof: internal error: {}", e.what());
    return kExitRunError;
  }
}

int runPprofCommand(const std::vector<std::string>& args) { return runPprofCommand(args, std::cout); }

}  // namespace memstrain
