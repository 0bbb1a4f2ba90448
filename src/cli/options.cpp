#include "memstrain/cli/options.hpp"

#include <cstdio>
#include <exception>
#include <sstream>

#include <spdlog/spdlog.h>

#include "memstrain/cli/cli.hpp"
#include "memstrain/cli/logging.hpp"

namespace po = boost::program_options;

namespace memstrain {

std::string renderHelp(const CommandHelp& help, const po::options_description& options) {
  std::ostringstream o;
  o << "usage: " << help.usage << "\n\n" << help.description << "\n\n" << options << "\nexamples:\n";
  std::istringstream ex(help.examples);
  for (std::string line; std::getline(ex, line);) o << "  " << line << "\n";
  o << "\nexit: " << help.exit_codes << "\n";
  return o.str();
}

std::optional<int> parseCommandLine(const std::vector<std::string>& args, const po::options_description& options,
                                    const std::vector<Positional>& positionals, const CommandHelp& help, po::variables_map& vm,
                                    std::ostream& help_out) {
  po::options_description visible("options");
  visible.add(options);
  visible.add_options()             //
      ("help,h", "show this help")  //
      ("log-format", po::value<std::string>()->default_value("text"), "diagnostics on stderr as text or json (one object a line)");
  po::options_description hidden;
  po::positional_options_description pos;
  for (const Positional& p : positionals) {
    if (p.max_count == 1)
      hidden.add_options()(p.name, po::value<std::string>());
    else
      hidden.add_options()(p.name, po::value<std::vector<std::string>>());
    pos.add(p.name, p.max_count);
  }
  po::options_description all;
  all.add(visible).add(hidden);
  std::string problem;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    problem = e.what();
  }
  LogSetup ls;
  if (auto f = parseLogFormat(optionString(vm, "log-format", "text"))) {
    ls.format = *f;
  } else if (problem.empty()) {
    problem = f.error().message;
  }
  ls.verbose = vm.count("verbose") > 0;
  ls.quiet = vm.count("quiet") > 0;
  setupLogging(ls);
  if (vm.count("help")) {
    help_out << renderHelp(help, visible);
    help_out.flush();
    return kExitPass;
  }
  for (const Positional& p : positionals) {
    if (problem.empty() && p.required && !vm.count(p.name)) {
      std::string upper = p.name;
      for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c == '-' ? '_' : c);
      problem = "missing " + upper;
    }
  }
  if (!problem.empty()) {
    spdlog::error("{}; usage: {} (see --help)", problem, help.usage);
    return kExitUsage;
  }
  return std::nullopt;
}

std::string optionString(const po::variables_map& vm, const char* name, const std::string& fallback) {
  auto it = vm.find(name);
  if (it == vm.end() || it->second.empty()) return fallback;
  const std::string* s = boost::any_cast<std::string>(&it->second.value());
  return s ? *s : fallback;
}

int runGuarded(const char* name, int (*body)(const std::vector<std::string>&), const std::vector<std::string>& args) {
  try {
    return body(args);
  } catch (const std::exception& e) {
    spdlog::error("{}: {}", name, e.what());
    return kExitRunError;
  }
}

}  // namespace memstrain
