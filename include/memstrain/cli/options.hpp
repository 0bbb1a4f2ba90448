#pragma once
// The opening every command shares: Boost.Program_options over the words after the command's
// name, --help with an example, --log-format, and logging set up before the command speaks.

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace memstrain {

/// What `memstrain CMD --help` prints, in this order.
struct CommandHelp {
  const char* usage;        ///< "memstrain validate PLAN [--json]"
  const char* description;  ///< what the command does, a few lines
  const char* examples;     ///< one or more command lines, one per line, each may end in "  # comment"
  const char* exit_codes;   ///< "0 valid, 2 invalid plan or usage"
};

/// The help text: usage, description, the options, examples and exit codes.
std::string renderHelp(const CommandHelp& help, const boost::program_options::options_description& options);

/// A word on the command line that is not an option, e.g. PLAN.
struct Positional {
  const char* name;      ///< key in the variables_map ("plan")
  int max_count = 1;     ///< how many words it takes; -1: all that remain
  bool required = true;  ///< a usage error when absent
};

/// Parses `args` against `options` (to which --help/-h and --log-format are added; -v/-q are read
/// when `options` declares them "verbose"/"quiet") and `positionals` (each stored as a string, or
/// as a vector of strings when max_count is not 1). Sets up logging from --log-format, -v, -q and
/// SPDLOG_LEVEL. Returns nullopt when the command should go on, or the exit code when it is done:
/// 0 after printing --help on `help_out`, 2 after logging a usage error (with a pointer to --help).
std::optional<int> parseCommandLine(const std::vector<std::string>& args, const boost::program_options::options_description& options,
                                    const std::vector<Positional>& positionals, const CommandHelp& help,
                                    boost::program_options::variables_map& vm, std::ostream& help_out = std::cout);

/// `vm[name]` as a string, or `fallback` when absent. (Program_options' own `as<std::string>()`
/// trips GCC 12's -Wnull-dereference at -O2; this one reads it in one place.)
std::string optionString(const boost::program_options::variables_map& vm, const char* name, const std::string& fallback = "");

/// Runs `body(args)` as the exception boundary of the command `name`: an exception that escapes it
/// is logged as "NAME: what" and ends as a run error (3).
int runGuarded(const char* name, int (*body)(const std::vector<std::string>&), const std::vector<std::string>& args);

}  // namespace memstrain
