#pragma once
// The fixture for end-to-end runs of the memstrain binary on real cgroups with the Go demo target:
// skips without root, a memory controller or the target binary; gives each test a per-run cgroup
// parent (/memstrain-test-PID) and a scratch directory; writes plans; runs `memstrain run`; and
// removes whatever a failed run left in the cgroup subtree.

#include <sys/types.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memstrain/cgroup/cgroup.hpp"
#include "memstrain/executor/journal.hpp"

namespace memstrain::testing {

/// The whole file at `p` ("" when unreadable).
std::string slurp(const std::filesystem::path& p);
/// How much longer than on this host the stages of a run need where the test runs: 1 unless
/// MEMSTRAIN_TEST_TIME_SCALE says more (the cgroup v2 guest sets it from a measurement: under TCG on
/// a busy host a page fault costs several times what it does natively; scripts/vm/guest-tests.sh).
/// Only stage lengths scale; what a test asserts is about memory, never about wall-clock time.
double timeScale();
/// `ms` milliseconds times timeScale(), as a plan duration ("7000ms").
std::string scaledMs(double ms);
/// The last non-empty line of `text`.
std::string lastLine(const std::string& text);
/// Pids of live stressor processes of this build's memstrain binary (argv[0] is MEMSTRAIN_BINARY),
/// so that runs of other checkouts on the same machine do not count.
std::vector<pid_t> strayStressors();

class RunFixture : public ::testing::Test {
 protected:
  /// `prefix` names the scratch directory: TempDir()/PREFIX-PID-TESTNAME.
  explicit RunFixture(std::string prefix = "memstrain-run") : prefix_(std::move(prefix)) {}
  void SetUp() override;
  /// Empties and removes the cgroup subtree under parent_; removes dir_ when the test passed (a
  /// failed test's outputs stay for a look).
  void TearDown() override;

  /// dir_/NAME.json holding `plan`.
  std::filesystem::path writePlan(const std::string& name, const nlohmann::json& plan) const;
  /// A plan's "target" object launching the demo target on 127.0.0.1:PORT with this memory limit,
  /// ready when /healthz answers; `extra_args` go after "-addr ADDR".
  nlohmann::json launch(int port, const std::string& limit, const std::vector<std::string>& extra_args = {}) const;
  /// Runs `memstrain run PLAN --out OUT --cgroup-parent parent_` to completion. stdout goes to
  /// dir_/LOG_NAME, stderr too unless `stderr_name` is given; `extra_args` go after the options
  /// (shell words). Returns the exit code (-1 when it
  /// did not exit normally).
  int run(const std::filesystem::path& plan, const std::filesystem::path& out, const std::string& log_name,
          const std::string& stderr_name = "", const std::string& extra_args = "") const;
  /// Cleanup status ok; no cgroup under parent_, no stressor, no target and no journal left.
  void expectNothingLeft(const nlohmann::json& report) const;

  std::optional<CgroupFs> fs_;
  std::filesystem::path target_;  ///< the demo target binary
  std::string parent_;            ///< --cgroup-parent for the runs
  std::filesystem::path dir_;     ///< scratch directory

 private:
  std::string prefix_;
};

}  // namespace memstrain::testing
