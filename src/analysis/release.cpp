#include "memstrain/analysis/release.hpp"

#include <algorithm>
#include <cstdio>

#include "memstrain/model/run_record.hpp"

namespace memstrain {

namespace {

// "179 MiB" for sentences: whole MiB above 10 MiB, one decimal below.
std::string mib(std::uint64_t bytes) {
  const double m = static_cast<double>(bytes) / (1024.0 * 1024.0);
  char b[48];
  std::snprintf(b, sizeof b, m >= 10 || m == 0 ? "%.0f MiB" : "%.1f MiB", m);
  return b;
}

std::string secs(double s) {
  char b[32];
  std::snprintf(b, sizeof b, s >= 10 ? "%.0f s" : "%.1f s", s);
  return b;
}

std::uint64_t dropOf(std::uint64_t before, std::uint64_t now) { return before > now ? before - now : 0; }

// The target's charge that it does not map: its charge minus its anonymous memory minus the
// cgroup's page cache, where the unmapped pieces of huge pages stay charged. The target growing
// back or page cache coming and going moves the charge but not this. nullopt without the figures.
std::optional<std::uint64_t> unmappedCharge(const ReleaseOsPoint& p) {
  if (!p.cgroup_usage_bytes || !p.target_anon_bytes) return std::nullopt;
  return dropOf(*p.cgroup_usage_bytes, *p.target_anon_bytes + p.cgroup_file_bytes);
}

// The last point at or before t, else nullptr.
template <class P>
const P* lastAtOrBefore(const std::vector<P>& v, double t) {
  const P* out = nullptr;
  for (const auto& p : v) {
    if (p.t_s <= t) out = &p;
  }
  return out;
}

}  // namespace

ReleaseResult analyzeRelease(const ReleaseInput& in) {
  ReleaseResult r;
  r.window_start_s = in.window_start_s;
  r.trigger_s = in.trigger_s;
  r.deadline_s = in.deadline_s;
  const double within_s = in.deadline_s - in.trigger_s;
  auto inWindow = [&](double t) { return t > in.window_start_s && t <= in.deadline_s; };

  // Runtime view: the last reading before the window, the largest HeapReleased in it.
  // A MemStats request is stamped when it starts; one in flight while the trigger fired may
  // already show the release. The lowest HeapReleased of the last second before the window is
  // the conservative "before" (it can only make the released figure larger, never a false
  // `returned`).
  const ReleaseRuntimePoint* rb = lastAtOrBefore(in.runtime, in.window_start_s);
  for (const auto& p : in.runtime) {
    if (rb && p.t_s <= in.window_start_s && p.t_s >= in.window_start_s - 1.0 && p.heap_released_bytes < rb->heap_released_bytes) rb = &p;
  }
  const ReleaseRuntimePoint* ra = nullptr;
  std::uint64_t released_max = 0;
  bool any_in_window = false;
  for (const auto& p : in.runtime) {
    if (!inWindow(p.t_s)) continue;
    ra = &p;
    if (!any_in_window || p.heap_released_bytes > released_max) released_max = p.heap_released_bytes;
    any_in_window = true;
  }
  // OS view.
  const ReleaseOsPoint* ob = lastAtOrBefore(in.os, in.window_start_s);
  const ReleaseOsPoint* oa = lastAtOrBefore(in.os, in.deadline_s);
  if (oa && oa->t_s <= in.window_start_s) oa = nullptr;
  if (!rb || !any_in_window || !ob || !oa) {
    r.outcome = ReleaseOutcome::kNoData;
    r.explanation = std::string("No ") + (!rb || !any_in_window ? "Go MemStats reading" : "reading of the target's memory") +
                    " before and after the " + (in.triggered ? "trigger" : "window's start") +
                    ": release could not be judged (is the pprof endpoint up, and the target's pid known?)";
    return r;
  }
  r.heap_released_before_bytes = rb->heap_released_bytes;
  r.heap_released_after_bytes = ra->heap_released_bytes;
  r.heap_idle_unreleased_before_bytes = dropOf(rb->heap_idle_bytes, rb->heap_released_bytes);  // HeapIdle - HeapReleased
  r.heap_inuse_before_bytes = rb->heap_inuse_bytes;
  r.heap_inuse_after_bytes = ra->heap_inuse_bytes;
  r.runtime_released_bytes = released_max > rb->heap_released_bytes ? released_max - rb->heap_released_bytes : 0;

  r.rss_before_bytes = ob->rss_bytes;
  r.rss_after_bytes = oa->rss_bytes;
  r.cgroup_before_bytes = ob->cgroup_usage_bytes;
  r.cgroup_after_bytes = oa->cgroup_usage_bytes;
  const double need = in.returned_ratio * static_cast<double>(r.runtime_released_bytes);
  std::uint64_t best_drop = 0;
  for (const auto& p : in.os) {
    if (!inWindow(p.t_s)) continue;
    std::optional<std::uint64_t> drop;
    if (ob->rss_bytes && p.rss_bytes) {
      const std::uint64_t d = dropOf(*ob->rss_bytes, *p.rss_bytes);
      r.rss_dropped_bytes = std::max(r.rss_dropped_bytes.value_or(0), d);
      drop = d;
    }
    if (ob->cgroup_usage_bytes && p.cgroup_usage_bytes) {
      const std::uint64_t d = dropOf(*ob->cgroup_usage_bytes, *p.cgroup_usage_bytes);
      r.cgroup_dropped_bytes = std::max(r.cgroup_dropped_bytes.value_or(0), d);
      // Both views must show it: the smaller drop counts.
      drop = drop ? std::min(*drop, d) : d;
    }
    if (!drop) continue;
    best_drop = std::max(best_drop, *drop);
    if (!r.time_to_return_s && r.runtime_released_bytes >= kMinReleasedBytes && static_cast<double>(*drop) >= need) {
      r.time_to_return_s = std::max(0.0, p.t_s - in.trigger_s);
    }
  }
  if (r.runtime_released_bytes > 0) r.returned_ratio = static_cast<double>(best_drop) / static_cast<double>(r.runtime_released_bytes);

  // Lazily freed pages: the process's LazyFree where smaps_rollup has it, else the cgroup's view.
  const std::int64_t inactive_delta =
      static_cast<std::int64_t>(oa->cgroup_inactive_file_bytes) - static_cast<std::int64_t>(ob->cgroup_inactive_file_bytes);
  r.cgroup_inactive_file_delta_bytes = inactive_delta;
  if (ob->cgroup_pglazyfree && oa->cgroup_pglazyfree) {
    r.cgroup_pglazyfree_delta = static_cast<std::int64_t>(*oa->cgroup_pglazyfree) - static_cast<std::int64_t>(*ob->cgroup_pglazyfree);
  }
  if (ob->cgroup_pglazyfreed && oa->cgroup_pglazyfreed) {
    r.cgroup_pglazyfreed_delta = static_cast<std::int64_t>(*oa->cgroup_pglazyfreed) - static_cast<std::int64_t>(*ob->cgroup_pglazyfreed);
  }
  if (oa->lazyfree_bytes) {
    r.lazy_source = "smaps_rollup";
    r.lazy_bytes = *oa->lazyfree_bytes;
    r.lazy_added_bytes = ob->lazyfree_bytes ? dropOf(*oa->lazyfree_bytes, *ob->lazyfree_bytes) : *oa->lazyfree_bytes;
  } else if (r.cgroup_pglazyfree_delta) {
    // v2: pages marked lazily free in the window that the kernel has not reclaimed yet.
    const std::int64_t pages = *r.cgroup_pglazyfree_delta - r.cgroup_pglazyfreed_delta.value_or(0);
    r.lazy_source = "cgroup_pglazyfree";
    r.lazy_added_bytes = pages > 0 ? static_cast<std::uint64_t>(pages) * in.page_bytes : 0;
    r.lazy_bytes = r.lazy_added_bytes;
  } else if (ob->cgroup_usage_bytes) {
    // v1 puts MADV_FREE pages on the inactive file LRU.
    r.lazy_source = "cgroup_inactive_file";
    r.lazy_added_bytes = inactive_delta > 0 ? static_cast<std::uint64_t>(inactive_delta) : 0;
    r.lazy_bytes = r.lazy_added_bytes;
  }

  // Huge pages: RSS fell further than the cgroup's usage while the target had THP-backed memory.
  r.target_anon_huge_before_bytes = ob->target_anon_huge_bytes;
  r.target_anon_huge_after_bytes = oa->target_anon_huge_bytes;
  r.cgroup_anon_thp_before_bytes = ob->cgroup_anon_thp_bytes;
  r.cgroup_anon_thp_after_bytes = oa->cgroup_anon_thp_bytes;
  const bool had_thp = ob->target_anon_huge_bytes.value_or(0) > 0 || ob->cgroup_anon_thp_bytes > 0;
  const auto unmapped_before = unmappedCharge(*ob), unmapped_after = unmappedCharge(*oa);
  if (had_thp && unmapped_before && unmapped_after) {
    // What the target stopped mapping while its charge stayed: the unmapped charge's growth.
    r.huge_page_held_bytes = dropOf(*unmapped_after, *unmapped_before);
  } else if (had_thp && ob->rss_bytes && oa->rss_bytes && ob->cgroup_usage_bytes && oa->cgroup_usage_bytes) {
    const std::uint64_t rss_drop = dropOf(*ob->rss_bytes, *oa->rss_bytes);
    const std::uint64_t cg_drop = dropOf(*ob->cgroup_usage_bytes, *oa->cgroup_usage_bytes);
    r.huge_page_held_bytes = rss_drop > cg_drop ? rss_drop - cg_drop : 0;
  }

  const std::string released = mib(r.runtime_released_bytes);
  const std::string after = secs(within_s);
  const char* by = in.triggered ? "by the Go runtime after the trigger" : "by the Go runtime (scavenger and GC, no trigger)";
  const int pct = static_cast<int>(r.returned_ratio.value_or(0) * 100 + 0.5);
  const std::uint64_t shortfall = r.runtime_released_bytes > best_drop ? r.runtime_released_bytes - best_drop : 0;
  if (r.runtime_released_bytes < kMinReleasedBytes) {
    r.outcome = ReleaseOutcome::kNothingReleased;
    r.explanation = "Only " + released + " released " + by + " within " + after + " (HeapReleased " + mib(rb->heap_released_bytes) +
                    " -> " + mib(released_max) + "): nothing to verify; drop memory in the target before the window" +
                    (in.triggered ? "" : " and give a trigger such as POST /debug/free") + ".";
  } else if (r.time_to_return_s) {
    r.outcome = ReleaseOutcome::kReturned;
    r.explanation = released + " released " + by + "; " + mib(best_drop) + " (" + std::to_string(pct) +
                    "%) left the process's RSS and the cgroup's usage, reaching " +
                    std::to_string(static_cast<int>(in.returned_ratio * 100 + 0.5)) + "% within " + secs(*r.time_to_return_s) +
                    ": released memory goes back to the OS.";
  } else if (r.lazy_added_bytes && *r.lazy_added_bytes >= kMinReleasedBytes && *r.lazy_added_bytes * 2 >= shortfall) {
    r.outcome = ReleaseOutcome::kLazy;
    r.explanation = released + " released " + by + ", " + mib(r.lazy_bytes.value_or(*r.lazy_added_bytes)) +
                    " still resident as LazyFree after " + after +
                    ": the process uses MADV_FREE; set GODEBUG=madvdontneed=1 or expect the cgroup to count these pages until reclaim.";
  } else if (r.huge_page_held_bytes >= kHugePageBytes && r.huge_page_held_bytes * 2 >= shortfall) {
    r.outcome = ReleaseOutcome::kHugePagesHeld;
    r.explanation = released + " released " + by + "; " + mib(dropOf(r.rss_before_bytes.value_or(0), r.rss_after_bytes.value_or(0))) +
                    " left the process's RSS but only " + mib(dropOf(r.cgroup_before_bytes.value_or(0), r.cgroup_after_bytes.value_or(0))) +
                    " left the cgroup within " + after + ": " + mib(r.huge_page_held_bytes) +
                    " stays charged as transparent huge pages (the target had " + mib(r.target_anon_huge_before_bytes.value_or(0)) +
                    " in huge pages). The runtime gave back pieces of 2 MiB pages; the kernel unmapped them but keeps each huge page, and "
                    "its charge, whole until memory pressure splits it. The cgroup's usage (and kubelet's working set) counts them until "
                    "then (a reclaim phase shows whether pressure gets it back); THP `madvise` (or a Go runtime that releases whole "
                    "huge pages) avoids it.";
  } else {
    r.outcome = ReleaseOutcome::kNotReturned;
    r.explanation = released + " released " + by + ", but only " + mib(best_drop) + " (" + std::to_string(pct) +
                    "%) left RSS and the cgroup's usage within " + after + " and " + mib(r.lazy_added_bytes.value_or(0)) +
                    " more is LazyFree: the pages are still charged to the cgroup (huge pages kept whole, or memory the runtime counts as "
                    "released that the kernel never saw freed).";
  }
  return r;
}

std::uint64_t heldAfterRelease(const ReleaseResult& r) {
  if (r.outcome == ReleaseOutcome::kLazy) return r.lazy_bytes.value_or(r.lazy_added_bytes.value_or(0));
  if (r.outcome == ReleaseOutcome::kHugePagesHeld) return r.huge_page_held_bytes;
  return 0;
}

ReclaimResult analyzeReclaim(const ReclaimInput& in) {
  ReclaimResult r;
  r.start_s = in.start_s;
  r.end_s = in.end_s;
  r.stressor_requested_bytes = in.stressor_requested_bytes;
  r.stressor_reached_bytes = in.stressor_reached_bytes;
  r.target_oom_killed = in.target_oom_killed;
  r.stressor_oom_killed = in.stressor_oom_killed;
  const ReleaseOsPoint* before = lastAtOrBefore(in.os, in.start_s);
  for (const auto& p : in.os) {
    if (p.t_s <= in.start_s || p.t_s > in.end_s) continue;
    if (p.lazyfree_bytes) r.lazy_after_bytes = std::min(r.lazy_after_bytes.value_or(*p.lazyfree_bytes), *p.lazyfree_bytes);
    if (p.rss_bytes) r.rss_after_bytes = p.rss_bytes;
  }
  if (before) {
    r.lazy_before_bytes = before->lazyfree_bytes;
    r.rss_before_bytes = before->rss_bytes;
  }
  if (r.lazy_before_bytes && r.lazy_after_bytes) r.reclaimed_lazy_bytes = dropOf(*r.lazy_before_bytes, *r.lazy_after_bytes);
  // The target's charge: the cgroup's usage without the stressor's pages (releaseOsPoint).
  if (before) r.charge_before_bytes = before->cgroup_usage_bytes;
  for (const auto& p : in.os) {
    if (p.t_s <= in.start_s || p.t_s > in.end_s || !p.cgroup_usage_bytes) continue;
    r.charge_after_bytes = std::min(r.charge_after_bytes.value_or(*p.cgroup_usage_bytes), *p.cgroup_usage_bytes);
  }
  if (r.charge_before_bytes && r.charge_after_bytes) r.reclaimed_charge_bytes = dropOf(*r.charge_before_bytes, *r.charge_after_bytes);
  // The unmapped charge (unmappedCharge), which the kernel frees as it splits the huge pages.
  if (before) r.unmapped_charge_before_bytes = unmappedCharge(*before);
  for (const auto& p : in.os) {
    if (p.t_s <= in.start_s || p.t_s > in.end_s) continue;
    if (auto u = unmappedCharge(p)) r.unmapped_charge_after_bytes = std::min(r.unmapped_charge_after_bytes.value_or(*u), *u);
  }
  if (r.unmapped_charge_before_bytes && r.unmapped_charge_after_bytes) {
    r.reclaimed_unmapped_bytes = dropOf(*r.unmapped_charge_before_bytes, *r.unmapped_charge_after_bytes);
  }
  r.held_bytes = in.held_bytes;
  const std::uint64_t reclaimed = std::max(r.reclaimed_lazy_bytes, r.reclaimed_unmapped_bytes.value_or(r.reclaimed_charge_bytes));
  r.gave_back = !in.target_oom_killed && r.held_bytes > 0 && reclaimed * 2 >= r.held_bytes;
  const std::string dur = secs(in.end_s - in.start_s);
  std::string s =
      "Under pressure (stressor asked for " + mib(in.stressor_requested_bytes) + ", reached " + mib(in.stressor_reached_bytes) +
      ") the kernel took back " + mib(r.reclaimed_lazy_bytes) + " of " + mib(r.lazy_before_bytes.value_or(0)) + " LazyFree and " +
      mib(r.reclaimed_charge_bytes) + " of the target's charge" +
      (r.reclaimed_unmapped_bytes ? " (" + mib(*r.reclaimed_unmapped_bytes) + " of it not mapped by the target)" : std::string()) +
      " within " + dur + " (" + mib(r.held_bytes) + " was held)";
  if (in.target_oom_killed)
    s += ", and the target was OOM-killed on the way: FreeOSMemory did not help at the low-water mark.";
  else if (in.stressor_oom_killed)
    s += "; the stressor was OOM-killed, so the pages could not all be reclaimed.";
  else if (r.gave_back)
    s += "; the target survived: the held memory comes back when the cgroup needs it.";
  else
    s += "; the target survived, but less than half of the held memory came back.";
  r.explanation = s;
  return r;
}

StressorReleaseResult judgeStressorRelease(std::uint64_t baseline_usage, std::uint64_t baseline_target_rss, std::uint64_t after_usage,
                                           std::uint64_t after_target_rss, std::uint64_t effective_limit_bytes,
                                           const std::optional<AnonAccount>& anon) {
  StressorReleaseResult r;
  r.baseline_usage_bytes = baseline_usage;
  r.after_usage_bytes = after_usage;
  r.baseline_target_rss_bytes = baseline_target_rss;
  r.after_target_rss_bytes = after_target_rss;
  // Signed differences: the target may have shrunk more than its figures say (page cache) or grown.
  auto growth = [](std::uint64_t all_before, std::uint64_t target_before, std::uint64_t all_after, std::uint64_t target_after) {
    const double before = static_cast<double>(all_before) - static_cast<double>(target_before);
    const double now = static_cast<double>(all_after) - static_cast<double>(target_after);
    return now > before ? static_cast<std::uint64_t>(now - before) : std::uint64_t{0};
  };
  r.usage_growth_bytes = growth(baseline_usage, baseline_target_rss, after_usage, after_target_rss);
  r.leaked_bytes = r.usage_growth_bytes;
  if (anon) {
    r.basis = "anon";
    r.baseline_anon_bytes = anon->cgroup_before;
    r.after_anon_bytes = anon->cgroup_after;
    r.baseline_target_anon_bytes = anon->target_before;
    r.after_target_anon_bytes = anon->target_after;
    r.leaked_bytes = growth(anon->cgroup_before, anon->target_before, anon->cgroup_after, anon->target_after);
  }
  r.tolerance_bytes = 16ULL << 20;
  if (effective_limit_bytes != 0 && effective_limit_bytes != ~0ULL) {
    r.tolerance_bytes = std::max(r.tolerance_bytes, effective_limit_bytes / 50);
  }
  r.ok = r.leaked_bytes <= r.tolerance_bytes;
  return r;
}

ReleaseOsPoint releaseOsPoint(const Sample& s) {
  ReleaseOsPoint p;
  p.t_s = s.t_s;
  if (s.target_process) {
    p.rss_bytes = s.target_process->rss_bytes;
    p.lazyfree_bytes = s.target_process->lazyfree_bytes;
  }
  // Inside placement shares the cgroup with the stressor: its pages are not the target's. What it
  // last reported holding, but no more than its process has: a stressor the OOM killer just ended
  // holds nothing, whatever its last report said.
  std::uint64_t stressor = s.stressor_cgroup ? 0 : s.stressor_populated_bytes;
  if (s.stressor_process) stressor = std::min(stressor, s.stressor_process->anonymous_bytes);
  p.cgroup_usage_bytes = s.target_cgroup.usage_bytes > stressor ? s.target_cgroup.usage_bytes - stressor : 0;
  p.cgroup_anon_bytes = s.target_cgroup.stat.anon_bytes;
  p.cgroup_file_bytes = s.target_cgroup.stat.file_bytes;
  p.cgroup_inactive_file_bytes = s.target_cgroup.stat.inactive_file_bytes;
  p.cgroup_pglazyfree = s.target_cgroup.stat.pglazyfree;
  p.cgroup_pglazyfreed = s.target_cgroup.stat.pglazyfreed;
  p.cgroup_anon_thp_bytes = s.target_cgroup.stat.anon_thp_bytes;
  if (s.target_process) {
    p.target_anon_huge_bytes = s.target_process->anon_huge_bytes;
    p.target_anon_bytes = s.target_process->anonymous_bytes;
  }
  return p;
}

ReleaseRuntimePoint releaseRuntimePoint(const MemStatsSample& m) {
  return {m.t_s, m.stats.heap_released_bytes, m.stats.heap_idle_bytes, m.stats.heap_inuse_bytes};
}

ReleaseInput releaseInputFor(const RunRecord& rec, std::size_t stage_idx, const std::vector<MemStatsSample>& memstats) {
  ReleaseInput in;
  const ReleaseRecord& rr = *rec.stages[stage_idx].release;
  const ReleaseSpec& spec = *rec.plan.stages[stage_idx].release;
  in.window_start_s = rr.window_start_s;
  in.trigger_s = rr.trigger_s;
  in.deadline_s = rr.deadline_s;
  in.returned_ratio = spec.returned_ratio;
  in.triggered = rr.trigger != "none" && rr.trigger_error.empty();
  for (const auto& s : rec.samples) {
    if (s.t_s <= rr.deadline_s) in.os.push_back(releaseOsPoint(s));
  }
  for (const auto& m : memstats) {
    if (m.t_s <= rr.deadline_s) in.runtime.push_back(releaseRuntimePoint(m));
  }
  return in;
}

ReclaimInput reclaimInputFor(const RunRecord& rec, std::size_t stage_idx) {
  ReclaimInput in;
  const ReclaimRecord& rc = *rec.stages[stage_idx].release->reclaim;
  in.start_s = rc.start_s;
  in.end_s = rc.end_s;
  in.stressor_requested_bytes = rc.stressor_requested_bytes;
  in.stressor_reached_bytes = rc.stressor_reached_bytes;
  for (const auto& s : rec.samples) {
    if (s.t_s <= rc.end_s) in.os.push_back(releaseOsPoint(s));
  }
  constexpr double kGraceS = 1.0;  // OOM kills are attributed up to 0.5 s late
  for (const auto& e : rec.events) {
    if (e.t_s < rc.start_s || e.t_s > rc.end_s + kGraceS) continue;
    if (e.kind == "target_oom_kill" || (e.kind == "target_exit" && e.detail.find("SIGKILL") != std::string::npos)) {
      in.target_oom_killed = true;
    }
    if (e.kind == "stressor_oom_kill") in.stressor_oom_killed = true;
  }
  return in;
}

}  // namespace memstrain
