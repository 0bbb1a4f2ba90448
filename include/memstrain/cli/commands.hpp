#pragma once
// One function per subcommand; `args` are the words after the subcommand's name.

#include <string>
#include <vector>

namespace memstrain {

int runRunCommand(const std::vector<std::string>& args);
int runValidateCommand(const std::vector<std::string>& args);
int runStressorCommand(const std::vector<std::string>& args);
int runRecoverCommand(const std::vector<std::string>& args);
/// `memstrain compare A B [--json|--markdown]`: two report.json files side by side.
int runCompareCommand(const std::vector<std::string>& args);
/// `memstrain report OUT/report.json [--out FILE]`: writes report.html; 0 written, 2 usage or
/// unreadable report, 3 write failed.
int runReportCommand(const std::vector<std::string>& args);

}  // namespace memstrain
