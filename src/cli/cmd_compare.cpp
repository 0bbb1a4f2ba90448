// `memstrain compare A/report.json B/report.json`: reads the two reports, prints the comparison,
// and with --fail-on gates CI on a regression from A to B.

#include <cstdio>
#include <iostream>

#include <spdlog/spdlog.h>

#include "memstrain/cli/cli.hpp"
#include "memstrain/cli/commands.hpp"
#include "memstrain/cli/options.hpp"
#include "memstrain/report/compare.hpp"
#include "memstrain/util/fs.hpp"
#include "memstrain/util/json_write.hpp"

namespace po = boost::program_options;

namespace memstrain {

int runCompareCommand(const std::vector<std::string>& args) {
  po::options_description desc;
  desc.add_options()                                                      //
      ("json", "print the comparison as JSON")                            //
      ("markdown", "print Markdown (a CI step summary or a PR comment)")  //
      ("fail-on", po::value<std::vector<std::string>>()->composing(),
       "exit 8 when B regressed against A by RULE (repeatable): check-regressed, verdict, or FIGURE[@STAGE]:+LIMIT "
       "such as p99:+20%, latency.p99@hold:+20%+2ms, usage.max:+64MiB, oom_kills.target:+0");
  const CommandHelp help{"memstrain compare A/report.json B/report.json [--json | --markdown] [--fail-on RULE]...",
                         "Two runs side by side: per stage (duration, usage, RSS, OOM kills, latency percentiles and error\n"
                         "rate per probe, heap, PSI) and per check (observed value and outcome), with the change B - A,\n"
                         "absolute and in percent. With --fail-on it is a CI gate: the rules that tripped are listed after\n"
                         "the table (and under \"fail_on\" in JSON) and the exit code is 8.",
                         "memstrain compare main/report.json pr/report.json --markdown >> \"$GITHUB_STEP_SUMMARY\"\n"
                         "memstrain compare main/report.json pr/report.json --fail-on check-regressed --fail-on p99@hold:+20%+2ms",
                         "0 compared (no rule tripped), 8 a --fail-on rule tripped, 2 usage or unreadable report"};
  po::variables_map vm;
  if (auto done = parseCommandLine(args, desc, {{"reports", 2, true}}, help, vm)) return *done;
  const auto files = vm["reports"].as<std::vector<std::string>>();
  if (files.size() != 2) {
    spdlog::error("give two report.json files (A and B), got {}", files.size());
    return kExitUsage;
  }
  if (vm.count("json") && vm.count("markdown")) {
    spdlog::error("at most one of --json, --markdown");
    return kExitUsage;
  }
  std::vector<FailRule> rules;
  if (vm.count("fail-on")) {
    for (const auto& text : vm["fail-on"].as<std::vector<std::string>>()) {
      auto r = parseFailRule(text);
      if (!r) {
        spdlog::error("{}", r.error().message);
        return kExitUsage;
      }
      rules.push_back(std::move(*r));
    }
  }
  nlohmann::json docs[2];
  for (std::size_t i = 0; i < 2; ++i) {
    auto text = readFile(files[i], std::size_t{256} << 20);
    if (!text) {
      spdlog::error("{}", text.error().message);
      return kExitUsage;
    }
    docs[i] = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (docs[i].is_discarded()) {
      spdlog::error("{}: not valid JSON", files[i]);
      return kExitUsage;
    }
  }
  auto c = compareReports(docs[0], docs[1], files[0], files[1]);
  if (!c) {
    spdlog::error("{}", c.error().message);
    return kExitUsage;
  }
  auto findings = evaluateFailRules(*c, rules);
  if (!findings) {
    spdlog::error("{}", findings.error().message);
    return kExitUsage;
  }
  if (vm.count("json")) {
    nlohmann::json j = compareToJson(*c);
    if (!rules.empty()) {
      nlohmann::json f = nlohmann::json::array();
      for (const auto& x : *findings) f.push_back({{"rule", x.rule}, {"detail", x.detail}});
      j["fail_on"] = {{"rules",
                       [&] {
                         nlohmann::json r = nlohmann::json::array();
                         for (const auto& rule : rules) r.push_back(rule.text);
                         return r;
                       }()},
                      {"tripped", f}};
    }
    std::cout << dumpJson(j, 2) << "\n";
  } else if (vm.count("markdown")) {
    std::cout << renderCompareMarkdown(*c);
    if (!rules.empty()) {
      std::cout << "\n#### Gate\n\n";
      if (findings->empty()) std::cout << "No regression by " << rules.size() << " rule(s).\n";
      for (const auto& x : *findings) std::cout << "- **" << x.rule << "**: " << x.detail << "\n";
    }
  } else {
    std::cout << renderCompareTable(*c);
    if (!rules.empty()) {
      std::cout << "\nfail-on: " << (findings->empty() ? "no regression" : std::to_string(findings->size()) + " regression(s)") << "\n";
      for (const auto& x : *findings) std::cout << "  " << x.rule << ": " << x.detail << "\n";
    }
  }
  std::cout.flush();
  if (!findings->empty()) {
    spdlog::warn("{} regression(s) by --fail-on; exit {}", findings->size(), static_cast<int>(kExitRegression));
    return kExitRegression;
  }
  return kExitPass;
}

}  // namespace memstrain
