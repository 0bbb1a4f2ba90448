#pragma once
// A synthetic run, built in code and the same on every call: a launched target with two probes and
// pprof, four stages (baseline, ramp, hold, release with reclaim), checks of every kind (absolute,
// relative to the baseline, a sliding window, a word), events, heap profiles on disk. Everything a
// report renders from, so that tests can pin the outputs and compare readers against writers.

#include <filesystem>
#include <string>
#include <vector>

#include "memstrain/model/run_record.hpp"

namespace memstrain::testing {

/// Which run: kCompleted passes some checks and fails others; kAborted is the same plan stopped
/// in the hold stage by its window check, with a target OOM kill (a second run to compare with).
enum class SyntheticVariant { kCompleted, kAborted };

struct SyntheticRun {
  RunRecord record;
  /// samples.jsonl as the executor would have written it, one object a line, in time order.
  std::vector<std::string> sample_lines;
};

/// Builds the run; its heap profiles are written under `dir` (which must exist).
SyntheticRun makeSyntheticRun(SyntheticVariant variant, const std::filesystem::path& dir);

}  // namespace memstrain::testing
