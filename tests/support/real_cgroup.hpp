#pragma once
// Set-up and teardown for integration tests on the host's real memory hierarchy, cgroup v1 (this
// machine) or v2 (the guest of `make test-cgroup2`). The teardown works without the code under test,
// so that a bug in memstrain's own removal can never leave a test's cgroups behind.

#include <sys/types.h>

#include <string>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/util/result.hpp"

namespace memstrain::testing {

/// The host's memory hierarchy, v1 or v2, or an Error whose message says why a test on it must
/// skip (not root, no memory controller).
Result<CgroupFs> realMemoryHierarchy();
/// Only a v1 hierarchy: for tests of what exists on v1 alone (libcgroup, use_hierarchy).
Result<CgroupFs> realV1MemoryHierarchy();
/// Only a v2 hierarchy; on v1 the Error says that `make test-cgroup2` runs the test in a VM.
Result<CgroupFs> realV2MemoryHierarchy();

/// The limit file of `fs`'s version: memory.limit_in_bytes (v1) or memory.max (v2).
const char* limitFileOf(const CgroupFs& fs);

/// "/memstrain-test-<pid>": the cgroup (relative to the mount) a test process creates its own
/// cgroups under.
std::string testCgroupBase();

/// Removes the directory `abs_root` (an absolute path on a cgroup mount) and every directory
/// below it, deepest first. A cgroup whose last member just died may refuse rmdir (EBUSY) for a
/// moment, so the whole pass is retried up to `attempts` times, 20 ms apart. Symlinks are not
/// followed. Returns true when `abs_root` is gone (also when it never existed).
bool removeCgroupTree(const std::string& abs_root, int attempts = 50);

/// SIGKILLs `pid` and reaps it, if it is > 0; then sets it to -1. Only for children of the caller.
void killAndReap(pid_t& pid);

}  // namespace memstrain::testing
