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

/// `memstrain headroom PLAN --vary WHAT --from A --to B ...`: the breaking-point search.
/// @returns 0 an edge was found (or every value passed), 1 no value passed, 2 usage or plan error
///          (nothing run), 3 a run could not be judged, 4 interrupted, 5 the budget ended the search
///          before the resolution. Never throws.
int runHeadroomCommand(const std::vector<std::string>& args);

}  // namespace memstrain
