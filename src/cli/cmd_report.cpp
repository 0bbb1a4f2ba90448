// `memstrain report OUT/report.json [--out FILE]`: (re)make report.html from a finished run.

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memstrain/cli/cli.hpp"
#include "memstrain/cli/commands.hpp"
#include "memstrain/report/html.hpp"
#include "memstrain/util/fs.hpp"

namespace memstrain {

int runReportCommand(const std::vector<std::string>& args) {
  const char* usage =
      "usage: memstrain report OUT/report.json [--out FILE]\n\n"
      "Writes report.html (charts, checks, stages, heap growth, release) from a run's report.json and the\n"
      "samples.jsonl beside it. Without samples.jsonl the page has no charts and says so.\n\n"
      "options:\n"
      "  -o [ --out ] FILE   HTML file to write (default: report.html beside report.json)\n"
      "  -h [ --help ]       show this help\n\n"
      "Exit: 0 written, 2 usage or unreadable report.json, 3 the HTML could not be written.\n";
  // Two options and one operand: parsed by hand (boost's string values trip -Wnull-dereference here).
  std::optional<std::string> path, out_opt;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::fputs(usage, stdout);
      return kExitPass;
    }
    if (a == "-o" || a == "--out") {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "memstrain: %s needs a FILE\n\n%s", a.c_str(), usage);
        return kExitUsage;
      }
      out_opt = args[++i];
    } else if (a.rfind("--out=", 0) == 0) {
      out_opt = a.substr(6);
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "memstrain: unknown option %s\n\n%s", a.c_str(), usage);
      return kExitUsage;
    } else if (path) {
      std::fprintf(stderr, "memstrain: one report.json at a time\n\n%s", usage);
      return kExitUsage;
    } else {
      path = a;
    }
  }
  if (!path) {
    std::fprintf(stderr, "memstrain: missing OUT/report.json\n\n%s", usage);
    return kExitUsage;
  }
  auto text = readFile(*path, std::size_t{256} << 20);
  if (!text) {
    std::fprintf(stderr, "memstrain: %s\n", text.error().message.c_str());
    return kExitUsage;
  }
  nlohmann::json report = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (report.is_discarded() || !report.is_object() || !report.contains("schema_version")) {
    std::fprintf(stderr, "memstrain: %s: not a memstrain report.json\n", path->c_str());
    return kExitUsage;
  }
  std::string out;
  if (out_opt) {
    out = *out_opt;
  } else {
    const auto slash = path->find_last_of('/');
    out = slash == std::string::npos ? "report.html" : path->substr(0, slash + 1) + "report.html";
  }
  std::string warning;
  const std::string html = renderHtmlReportWithSamples(report, samplesPathFor(*path), &warning);
  if (!warning.empty()) std::fprintf(stderr, "memstrain: %s\n", warning.c_str());
  if (auto st = writeFileAtomic(out, html); !st) {
    std::fprintf(stderr, "memstrain: write %s: %s\n", out.c_str(), st.error().message.c_str());
    return kExitRunError;
  }
  std::printf("%s\n", out.c_str());
  return kExitPass;
}

}  // namespace memstrain
