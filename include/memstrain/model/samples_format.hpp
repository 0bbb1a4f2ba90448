#pragma once
// samples.jsonl: one JSON object a line, one line per reading, on the run's clock. The "kind" of a
// line says what it holds; these are its writers, one per kind, so that the format has one home.
//   cgroup       a Sample: the target's cgroup (and the measured and stressor cgroups), the
//                stressor, the target process, host PSI
//   memstats     a MemStatsSample: the Go runtime's MemStats and goroutines
//   live_heap    a LiveHeapReading: live objects and bytes right after a forced GC
//   pprof_error  a PprofFailure: a pprof request that failed (the run goes on)
//   latency      one probe's one-second ProbeWindow

#include <string>

#include <nlohmann/json.hpp>

#include "memstrain/model/heap.hpp"
#include "memstrain/model/probe_window.hpp"
#include "memstrain/model/sample.hpp"

namespace memstrain {

/// The sample as one samples.jsonl object (kind "cgroup"), stage named by `stage_name`.
nlohmann::json sampleToJson(const Sample& s, const std::string& stage_name);
nlohmann::json cgroupSampleToJson(const CgroupSample& c);
nlohmann::json processMemoryToJson(const ProcessMemory& p);

/// samples.jsonl objects for the two kinds of pprof reading.
nlohmann::json memStatsToJson(const MemStatsSample& s, const std::string& stage_name);
nlohmann::json liveHeapToJson(const LiveHeapReading& r, const std::string& stage_name);
nlohmann::json pprofFailureToJson(const PprofFailure& f, const std::string& stage_name);

/// One probe's one-second window as a samples.jsonl object (kind "latency") at run time `t_s`:
/// counts and the corrected p50/p90/p99/max, uncorrected p99 and scheduling-lag p99 in ms.
nlohmann::json latencyWindowToJson(const ProbeWindow& w, const std::string& probe, double t_s, const std::string& stage);

}  // namespace memstrain
