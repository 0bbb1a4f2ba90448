// `memstrain compare A/report.json B/report.json`: reads the two reports, prints the comparison.

#include <cstdio>
#include <iostream>

#include "memstrain/cli/cli.hpp"
#include "memstrain/cli/commands.hpp"
#include "memstrain/report/compare.hpp"
#include "memstrain/util/fs.hpp"
#include "memstrain/util/json_write.hpp"

namespace memstrain {

int runCompareCommand(const std::vector<std::string>& args) {
  const char* usage =
      "usage: memstrain compare A/report.json B/report.json [--json | --markdown]\n\n"
      "Two runs side by side: per stage (duration, usage, RSS, OOM kills, latency percentiles and error\n"
      "rate per probe, heap, PSI) and per check (observed value and outcome), with the change B - A,\n"
      "absolute and in percent. Exit: 0 compared, 2 usage or unreadable report.";
  std::vector<std::string> files;
  bool as_json = false, as_markdown = false;
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::printf("%s\n", usage);
      return kExitPass;
    }
    if (a == "--json")
      as_json = true;
    else if (a == "--markdown" || a == "--md")
      as_markdown = true;
    else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "memstrain: compare: unknown option %s\n\n%s\n", a.c_str(), usage);
      return kExitUsage;
    } else
      files.push_back(a);
  }
  if (files.size() != 2 || (as_json && as_markdown)) {
    std::fprintf(stderr, "memstrain: compare: give two report.json files and at most one of --json, --markdown\n\n%s\n", usage);
    return kExitUsage;
  }
  nlohmann::json docs[2];
  for (int i = 0; i < 2; ++i) {
    auto text = readFile(files[static_cast<std::size_t>(i)], std::size_t{256} << 20);
    if (!text) {
      std::fprintf(stderr, "memstrain: %s\n", text.error().message.c_str());
      return kExitUsage;
    }
    docs[i] = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (docs[i].is_discarded()) {
      std::fprintf(stderr, "memstrain: %s: not valid JSON\n", files[static_cast<std::size_t>(i)].c_str());
      return kExitUsage;
    }
  }
  auto c = compareReports(docs[0], docs[1], files[0], files[1]);
  if (!c) {
    std::fprintf(stderr, "memstrain: %s\n", c.error().message.c_str());
    return kExitUsage;
  }
  if (as_json)
    std::cout << dumpJson(compareToJson(*c), 2) << "\n";
  else if (as_markdown)
    std::cout << renderCompareMarkdown(*c);
  else
    std::cout << renderCompareTable(*c);
  return kExitPass;
}

}  // namespace memstrain
