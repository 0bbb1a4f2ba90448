#pragma once
// The plan: what to run against which target, stage by stage. Plain data, produced by parsePlan()
// after full validation; nothing downstream re-checks what the parser guarantees.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "memstrain/model/metrics.hpp"

namespace memstrain {

/// memstrain starts the target itself, in a cgroup it creates with `memory_limit_bytes`.
struct LaunchSpec {
  std::vector<std::string>
      command;  ///< argv; a relative command[0] is resolved in `workdir` when set (where it runs), else in memstrain's cwd
  std::map<std::string, std::string> env;  ///< added to (or overriding) memstrain's environment
  std::uint64_t memory_limit_bytes = 0;    ///< limit of the cgroup memstrain creates
  std::optional<std::string> ready_url;    ///< polled until HTTP 2xx before the first stage
  std::chrono::nanoseconds ready_timeout{std::chrono::seconds(30)};
  std::optional<std::string> workdir;
};

/// memstrain observes a running target it did not start. Exactly one way of naming it is set:
/// cgroup, pid, or pod_uid and/or container_id (both: the container must belong to that pod).
struct AttachSpec {
  std::optional<std::string> cgroup;        ///< path relative to the memory controller's mount
  std::optional<pid_t> pid;                 ///< its cgroup is read from /proc/PID/cgroup (namespaces joined)
  std::optional<std::string> pod_uid;       ///< canonical pod UID (normalizePodUid); kubelet layouts
  std::optional<std::string> container;     ///< with pod_uid: the container's name in the pod spec
  std::optional<std::string> container_id;  ///< normalised container id or unique prefix (≥ 12 hex)
  /// Accept watching the target through its cgroup alone when memstrain cannot see its processes
  /// (another pid namespace). Without it such a run is refused at its start.
  bool cgroup_only = false;
};

/// An inclusive range of HTTP status codes; a single code is {code, code}.
struct StatusRange {
  int first = 200;
  int last = 299;
  bool contains(long code) const { return code >= first && code <= last; }
  bool operator==(const StatusRange&) const = default;
};

/// An open-loop HTTP latency probe against the target (target.probe); the latency probe runs it
/// as it is (observers/latency_probe.hpp).
struct ProbeSpec {
  std::string name = "probe";        ///< for logs, reports and the thread name
  std::string url;                   ///< http:// or https://
  std::string method = "GET";        ///< any token; HEAD is sent without reading a body
  std::vector<std::string> headers;  ///< "Name: value" lines
  std::string body;                  ///< sent with every request when non-empty
  double rate_per_s = 20;            ///< constant send rate, > 0
  /// Limit for one transfer, counted from its actual send (connect included), to the millisecond.
  /// A request that exceeds it is an error of class timeout and is not in the latency histograms.
  std::chrono::nanoseconds timeout{std::chrono::seconds(1)};
  /// Statuses that count as success (the plan writes "200", "200-299", "200,204,300-399"). Any
  /// other status is an error of class http_status (its latency is still recorded: the server did
  /// answer).
  std::vector<StatusRange> expect_status{StatusRange{200, 299}};
  /// Most requests outstanding at once (on the wire or waiting for a connection). A send due
  /// while this many are outstanding is not made and is counted as missed: the schedule never
  /// blocks. Each outstanding request may hold a socket, so the process needs about this many
  /// spare file descriptors.
  std::size_t max_in_flight = 1000;
  /// Most requests on the wire at once (= connections, HTTP/1.1). 0: no cap besides
  /// max_in_flight. With a cap, due sends wait in a queue for a free connection; their corrected
  /// latency includes the wait, their uncorrected latency does not.
  std::size_t concurrency = 0;
};

struct TargetSpec {
  std::optional<LaunchSpec> launch;  ///< exactly one of launch / attach is set
  std::optional<AttachSpec> attach;
  std::optional<std::string> pprof_url;  ///< e.g. http://127.0.0.1:6060/debug/pprof
  std::vector<ProbeSpec> probes;         ///< latency probes, each on its own thread
};

enum class Placement {
  kInside,  ///< stressor joins the target's cgroup and shares its limit
  kBeside,  ///< stressor in a sibling cgroup: both compete for the parent's limit
  kNode,    ///< stressor in a memstrain cgroup at node level: competes for the node's memory
};
const char* toString(Placement p);

struct PressureSpec {
  Placement placement = Placement::kInside;
  /// Closed loop: hold the constraining cgroup's usage at this fraction of its effective limit.
  std::optional<double> level_fraction;
  /// Open loop: a stressor of this fixed size. Exactly one of level_fraction / size_bytes is set.
  std::optional<std::uint64_t> size_bytes;
  /// Spread the growth linearly over this time (0 = at once: a spike, at the stressor's full
  /// populate rate).
  std::chrono::nanoseconds ramp{0};
  /// A rate-limited ramp instead: move toward the level at most this many bytes per second. At
  /// most one of ramp (> 0) / rate is set.
  std::optional<std::uint64_t> rate_bytes_per_s;
  /// Allow pressure past the effective limit minus the safety margin (an OOM kill is then expected).
  bool allow_oom = false;
  int oom_score_adj = 1000;  ///< of the stressor; 1000 makes the kernel kill it before the target
  /// Closed loop only: the hold's hysteresis, the error the loop leaves alone while at rest (so
  /// the target's small wiggles do not make the stressor give back pages and fault them in again).
  /// At most one is set: a fraction of the effective limit or bytes (0 turns it off); neither:
  /// defaultHysteresisBytes, max(1% of the limit, 4 MiB).
  std::optional<double> hysteresis_fraction;
  std::optional<std::uint64_t> hysteresis_bytes;
};

/// An HTTP request memstrain sends to the target during a stage, e.g. to make it allocate
/// (POST /grow) or release memory (POST /debug/free). Its outcome is recorded as an event.
struct StageAction {
  std::chrono::nanoseconds at{0};  ///< offset from the stage's start
  std::string method = "POST";     ///< GET or POST
  std::string url;
  std::string body;
  std::chrono::nanoseconds timeout{std::chrono::seconds(10)};
};

/// What makes the target release memory in a release stage: an HTTP request (e.g. POST
/// /debug/free, which calls debug.FreeOSMemory), a signal to the target's pid, or a command.
struct ReleaseTrigger {
  enum class Kind { kHttp, kSignal, kCommand };
  Kind kind = Kind::kHttp;
  /// Offset from the stage's start. The window's "before" readings come first (the stage's actions
  /// wait for them too), so a drop action at 0s and a trigger at 500ms are both inside it.
  std::chrono::nanoseconds at{std::chrono::milliseconds(500)};
  std::string url;                                             ///< kHttp
  std::string method = "POST";                                 ///< kHttp: GET or POST
  std::chrono::nanoseconds timeout{std::chrono::seconds(10)};  ///< kHttp and kCommand
  int signal = 0;                                              ///< kSignal: SIGUSR1 or SIGUSR2
  std::vector<std::string> command;                            ///< kCommand: argv, run by memstrain (not in the target's cgroup)
};
const char* toString(ReleaseTrigger::Kind k);  ///< "http", "signal", "command"

/// Pressure-assisted reclaim after a `lazy` outcome: the stressor fills the measured cgroup up to
/// the limit minus the safety margin minus the target's non-lazy charge, so that the kernel must
/// take the lazily freed pages back to make room.
struct ReclaimSpec {
  std::chrono::nanoseconds duration{std::chrono::seconds(10)};
  std::optional<std::uint64_t> size_bytes;  ///< a fixed stressor size instead of the fill rule
};

/// A release stage: is memory the Go runtime releases really returned to the OS?
struct ReleaseSpec {
  std::optional<ReleaseTrigger> trigger;                      ///< none: watch the scavenger and GC on their own
  double returned_ratio = 0.8;                                ///< OS-visible drop / runtime-released bytes for `returned`
  std::chrono::nanoseconds within{std::chrono::seconds(10)};  ///< from the trigger (or stage start)
  std::optional<ReclaimSpec> reclaim;
};

struct StageSpec {
  std::string name;
  std::chrono::nanoseconds duration{0};
  std::optional<PressureSpec> pressure;  ///< none: the stressor holds nothing in this stage
  std::vector<StageAction> actions;      ///< in order of `at`
  std::optional<ReleaseSpec> release;    ///< a release-verification stage (never with pressure)
};

struct SamplingSpec {
  std::chrono::nanoseconds interval{std::chrono::milliseconds(250)};
  std::chrono::nanoseconds pprof_interval{std::chrono::seconds(2)};
};

/// How the Go runtime is read through target.pprof_url.
struct PprofSpec {
  bool gc_before_heap = false;  ///< heap profiles with ?gc=1 (a GC in the target per profile)
  std::chrono::nanoseconds timeout{std::chrono::seconds(2)};
  std::uint64_t max_body_bytes = 64ULL << 20;
  std::uint64_t max_decompressed_bytes = 512ULL << 20;
  /// Save an extra heap profile when heap objects grow by more than this many objects or this
  /// fraction within `growth_window` (unset: no growth-triggered snapshots).
  std::optional<std::uint64_t> growth_objects;
  std::optional<double> growth_fraction;
  std::chrono::nanoseconds growth_window{std::chrono::seconds(10)};
  std::size_t diff_top = 10;  ///< rows of the heap-growth diff in the report
  /// A live reading (forced GC, MemStats) this often during stages, for a leak rate with its
  /// error; unset (the default): live readings only at stage boundaries.
  std::optional<std::chrono::nanoseconds> live_interval;
};

struct SafetySpec {
  /// Pressure never takes usage above effective limit minus this margin unless allow_oom.
  double margin_fraction = 0.03;
  std::uint64_t margin_min_bytes = 16ULL << 20;
  /// A run that would last longer than this is refused.
  std::chrono::nanoseconds max_duration{std::chrono::hours(6)};
  /// Node placement: the most of MemTotal the node may have in use (MemTotal - MemAvailable) under
  /// pressure; more is refused unless `memstrain run --force`.
  double node_max_fraction = 0.90;
  /// Node placement: pressure stops (and the run ends) when MemAvailable falls below this. Either a
  /// fraction of MemTotal or bytes; the default is the larger of 5% of MemTotal and 512 MiB.
  std::optional<double> node_min_available_fraction;
  std::optional<std::uint64_t> node_min_available_bytes;
};

/// A limit relative to the same metric in the baseline stage: baseline * factor + add, where
/// add is in the metric's unit (ns, bytes, ...). "2x+5ms" -> factor 2, add 5e6; "+10%" -> factor
/// 1.1, add 0.
struct RelativeLimit {
  double factor = 1;
  double add = 0;
  std::string text;  ///< as written in the plan, for explanations
};

/// A pass/fail rule over one metric, evaluated per stage after the run (plan "checks").
struct CheckSpec {
  std::string name;
  std::string metric;
  MetricUnit unit = MetricUnit::kCount;
  std::vector<std::string> stages;  ///< empty: every stage
  std::string probe;                ///< latency metrics: the probe read (filled in by the parser)
  std::optional<double> max, min;   ///< absolute, in the metric's canonical unit
  std::optional<RelativeLimit> max_vs_baseline;
  /// Text metrics (release.outcome): the value the metric must equal, e.g. "returned".
  std::optional<std::string> equals;
  std::string description;
  /// Set: a sliding-window check, judged live every second over the last `window` of the run's
  /// per-second data (only stages in scope count), and after the run as its worst window per stage.
  std::optional<std::chrono::nanoseconds> window;
  /// With `window`: the first failing window stops the pressure and ends the run as aborted.
  bool abort = false;
};

struct Plan {
  std::string name;
  std::string description;
  TargetSpec target;
  SamplingSpec sampling;
  SafetySpec safety;
  PprofSpec pprof;
  std::vector<StageSpec> stages;
  std::vector<CheckSpec> checks;
  /// The stage baseline-relative limits compare against: "baseline" if a stage has that name,
  /// else the plan's "baseline_stage"; empty when neither.
  std::string baseline_stage;
  nlohmann::json source;  ///< the plan as given, copied into the report

  std::chrono::nanoseconds totalDuration() const;
};

}  // namespace memstrain
