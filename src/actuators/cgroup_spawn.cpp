#include "memstrain/actuators/cgroup_spawn.hpp"

namespace memstrain {

const char* toString(CgroupEntry e) { return e == CgroupEntry::kCloneIntoCgroup ? "clone3" : "moved"; }

Result<SuspendedChild> spawnSuspendedIn(SpawnOptions options, CgroupEditor& editor, const std::string& rel, CgroupEntry* entry,
                                        std::string* fallback_reason) {
  const CgroupFs& fs = editor.fs();
  if (fs.version() == CgroupVersion::kV2) {
    auto dir = fs.absPath(rel);
    if (!dir) return dir.error();
    options.cgroup_dir = *dir;
  }
  auto child = spawnSuspended(options);
  if (!child) return child.error();
  if (fallback_reason != nullptr) *fallback_reason = child->cloneFallbackReason();
  if (child->startedInCgroup()) {
    if (entry != nullptr) *entry = CgroupEntry::kCloneIntoCgroup;
    return child;
  }
  if (auto st = editor.attach(rel, child->pid()); !st) {
    child->abandon();
    return Error{"move into " + rel + ": " + st.error().message, st.error().sys_errno};
  }
  if (entry != nullptr) *entry = CgroupEntry::kMoved;
  return child;
}

}  // namespace memstrain
