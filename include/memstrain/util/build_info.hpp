#pragma once
// Which build made this binary: printed by `memstrain --version`, recorded in report.json and
// exposed as memstrain_build_info. Defined in a source the build generates (cmake/BuildInfo.cmake).

#include <string>

namespace memstrain {

struct BuildInfo {
  const char* version;     ///< the CMake project version, e.g. "0.1.0"
  const char* commit;      ///< full git commit of the source, or "unknown" (no git, no override)
  bool dirty;              ///< tracked files differed from `commit` when it was built
  const char* build_type;  ///< CMAKE_BUILD_TYPE, with "+asan+ubsan" for a sanitizer build
  const char* compiler;    ///< compiler id and version, e.g. "GNU 12.2.0"
};

/// This binary's build. The strings live as long as the program.
const BuildInfo& buildInfo();

/// The commit as people read it: 12 hex digits, "-dirty" when the tree had changes, or "unknown".
std::string shortCommit(const BuildInfo& info);

}  // namespace memstrain
