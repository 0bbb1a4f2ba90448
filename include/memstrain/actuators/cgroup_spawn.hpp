#pragma once
// Starting a process that memstrain owns (the target, the stressor) in its cgroup. On cgroup v2
// with Linux 5.7+ the child is created there with clone3(CLONE_INTO_CGROUP), so not one page it
// touches is charged anywhere else; otherwise (v1, older kernels) it is created suspended beside
// memstrain and moved with the editor before it may exec, as before.

#include <string>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/os/process.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain {

/// How the child got into its cgroup.
enum class CgroupEntry {
  kCloneIntoCgroup,  ///< created there by clone3(CLONE_INTO_CGROUP)
  kMoved,            ///< forked beside memstrain, then moved (cgroup.procs) before exec
};
const char* toString(CgroupEntry e);  ///< "clone3" / "moved"

/// spawnSuspended(`options`) with the child in `rel` before it is released: created there on v2
/// where the kernel can, else moved with `editor` (`options.cgroup_dir` is set here). Error when
/// the child cannot be started or moved (the child is then killed and reaped). `entry`, when not
/// null, says which way it went; `fallback_reason` why clone3 was not used (v2 only).
Result<SuspendedChild> spawnSuspendedIn(SpawnOptions options, CgroupEditor& editor, const std::string& rel, CgroupEntry* entry = nullptr,
                                        std::string* fallback_reason = nullptr);

}  // namespace memstrain
