// `memstrain report OUT/report.json [--out FILE]`: (re)make report.html from a finished run.

#include <cstdio>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "memstrain/cli/cli.hpp"
#include "memstrain/cli/commands.hpp"
#include "memstrain/cli/options.hpp"
#include "memstrain/report/html.hpp"
#include "memstrain/util/fs.hpp"

namespace po = boost::program_options;

namespace memstrain {

int runReportCommand(const std::vector<std::string>& args) {
  po::options_description desc;
  desc.add_options()("out,o", po::value<std::string>(), "HTML file to write (default: report.html beside report.json)");
  const CommandHelp help{"memstrain report OUT/report.json [--out FILE]",
                         "Writes report.html (charts, checks, stages, heap growth, release) from a run's report.json and the\n"
                         "samples.jsonl beside it. Without samples.jsonl the page has no charts and says so. Prints the path.",
                         "memstrain report out/demo/report.json\n"
                         "memstrain report out/demo/report.json --out /tmp/demo.html",
                         "0 written, 2 usage or unreadable report.json, 3 the HTML could not be written"};
  po::variables_map vm;
  if (auto done = parseCommandLine(args, desc, {{"report"}}, help, vm)) return *done;
  const std::string path = optionString(vm, "report");
  auto text = readFile(path, std::size_t{256} << 20);
  if (!text) {
    spdlog::error("{}", text.error().message);
    return kExitUsage;
  }
  nlohmann::json report = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (report.is_discarded() || !report.is_object() || !report.contains("schema_version")) {
    spdlog::error("{}: not a memstrain report.json", path);
    return kExitUsage;
  }
  std::string out = optionString(vm, "out");
  if (out.empty()) {
    const auto slash = path.find_last_of('/');
    out = slash == std::string::npos ? "report.html" : path.substr(0, slash + 1) + "report.html";
  }
  std::string warning;
  const std::string html = renderHtmlReportWithSamples(report, samplesPathFor(path), &warning);
  if (!warning.empty()) spdlog::warn("{}", warning);
  if (auto st = writeFileAtomic(out, html); !st) {
    spdlog::error("write {}: {}", out, st.error().message);
    return kExitRunError;
  }
  std::printf("%s\n", out.c_str());
  return kExitPass;
}

}  // namespace memstrain
