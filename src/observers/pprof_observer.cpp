#include "memstrain/observers/pprof_observer.hpp"

#include "memstrain/model/samples_format.hpp"

#include <spdlog/spdlog.h>

#include "memstrain/util/fs.hpp"
#include "memstrain/util/text.hpp"

namespace memstrain {

namespace {
std::int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

PprofObserver::PprofObserver(Options options, Clock::time_point t0, std::function<void(const nlohmann::json&)> write_line)
    : options_(std::move(options)), t0_(t0), write_line_(std::move(write_line)), client_(options_.base_url, [this] {
        PprofClientOptions o = options_.client;
        o.abort = &abort_;  // raised by stop(true)
        return o;
      }()) {}

PprofObserver::~PprofObserver() { stop(); }

double PprofObserver::now_s() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }

void PprofObserver::start() {
  if (thread_.joinable()) return;
  if (options_.live_boundaries) liveReading(0, "start");  // before the first stage begins
  thread_ = std::thread([this] { loop(); });
}

void PprofObserver::setStage(std::size_t index, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  stage_ = index;
  stage_name_ = name;
  if (stage_names_.size() <= index) stage_names_.resize(index + 1);
  stage_names_[index] = name;
}

void PprofObserver::requestStageSnapshot(std::size_t index, const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_snapshots_.emplace_back(index, name);
  }
  cv_.notify_one();
}

void PprofObserver::requestStageEndLive(std::size_t index) {
  if (!options_.live_boundaries) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_snapshots_.emplace_back(index, std::string());
  }
  cv_.notify_one();
}

void PprofObserver::setFastInterval(std::optional<std::chrono::nanoseconds> interval) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    fast_interval_ = interval;
    interval_changed_ = true;
  }
  cv_.notify_one();
}

std::vector<MemStatsSample> PprofObserver::memstatsSince(double since_s) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<MemStatsSample> out;
  for (const auto& m : memstats_) {
    if (m.t_s >= since_s) out.push_back(m);
  }
  return out;
}

void PprofObserver::stop(bool abandon) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (abandon) {
      pending_snapshots_.clear();
      abort_.store(true);
    }
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void PprofObserver::loop() {
  // Nothing may escape this thread: an exception leaving it would end the whole process
  // (std::terminate) with the pressure on and no report. Whatever one request or write throws
  // becomes a failure of kind "internal" and the observer goes on.
  auto next_poll = Clock::now();
  const auto live_every = options_.live_interval.value_or(std::chrono::nanoseconds::zero());
  auto next_live = Clock::now() + live_every;
  for (;;) {
    try {
      if (!step(next_poll, next_live)) return;
    } catch (const std::exception& e) {
      fail("observer", Error{std::string("internal error: ") + e.what()}, "internal");
      next_poll = Clock::now() + options_.interval;
    } catch (...) {
      fail("observer", Error{"internal error"}, "internal");
      next_poll = Clock::now() + options_.interval;
    }
  }
}

bool PprofObserver::step(Clock::time_point& next_poll, Clock::time_point& next_live) {
  const auto live_every = options_.live_interval.value_or(std::chrono::nanoseconds::zero());
  std::optional<std::pair<std::size_t, std::string>> snap;
  bool do_poll = false;
  bool do_live = false;
  std::chrono::nanoseconds interval = options_.interval;
  {
    std::unique_lock<std::mutex> lock(mu_);
    const auto wake = live_every.count() > 0 ? std::min(next_poll, next_live) : next_poll;
    cv_.wait_until(lock, wake, [&] { return stopping_ || !pending_snapshots_.empty() || interval_changed_; });
    if (interval_changed_) {
      interval_changed_ = false;
      next_poll = std::min(next_poll, Clock::now());
    }
    if (fast_interval_) interval = *fast_interval_;
    if (!pending_snapshots_.empty()) {
      snap = pending_snapshots_.front();
      pending_snapshots_.pop_front();
    } else if (stopping_) {
      return false;
    } else if (live_every.count() > 0 && Clock::now() >= next_live) {
      do_live = true;
    } else if (Clock::now() >= next_poll) {
      do_poll = true;
    }
  }
  if (snap && snap->second.empty()) {
    liveReading(snap->first, "stage_end");  // an empty name queues the stage-end live reading
  } else if (snap) {
    snapshot(snap->first, snap->second, "stage_end");
  } else if (do_live) {
    std::size_t stage;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stage = stage_;
    }
    next_live += live_every;
    liveReading(stage, "interval");
    if (next_live < Clock::now()) next_live = Clock::now() + live_every;
  } else if (do_poll) {
    next_poll += interval;
    poll();
    if (next_poll < Clock::now()) next_poll = Clock::now() + interval;  // a slow request: skip, don't burst
  }
  return true;
}

void PprofObserver::fail(const std::string& endpoint, const Error& e, const char* kind) {
  std::size_t stage;
  std::string name;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stage = stage_;
    name = stage_name_;
  }
  // Messages quote the target's bytes through sanitizeUntrusted() already; this is the backstop
  // for any path that did not (valid text passes unchanged).
  PprofFailure f{now_s(), stage, endpoint, kind ? kind : pprofErrorKindName(client_.lastErrorKind()),
                 isValidUtf8(e.message) ? e.message : sanitizeUntrusted(e.message, 4096)};
  // The first failures are logged in full; after that every 20th, so a dead endpoint does not
  // flood the log. Every failure still goes to samples.jsonl.
  if (logged_failures_ < 3 || logged_failures_ % 20 == 0) spdlog::warn("pprof {}: {} ({})", endpoint, f.message, f.kind);
  ++logged_failures_;
  try {
    write_line_(pprofFailureToJson(f, name));
  } catch (const std::exception& x) {
    spdlog::warn("pprof: samples.jsonl: {}", x.what());
  }
  failures_.push_back(std::move(f));
}

void PprofObserver::poll() {
  MemStatsSample s;
  std::string name;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.stage = stage_;
    name = stage_name_;
  }
  s.t_s = now_s();
  s.wall_ms = wallMs();
  auto ms = client_.fetchMemStats();
  if (!ms) {
    fail("memstats", ms.error());
    return;
  }
  s.stats = *ms;
  auto g = client_.fetchGoroutineCount();
  if (g) {
    s.goroutines = *g;
  } else {
    fail("goroutine", g.error());
  }
  write_line_(memStatsToJson(s, name));
  {
    std::lock_guard<std::mutex> lock(mu_);
    memstats_.push_back(s);
  }
  maybeTrigger(s);
}

void PprofObserver::maybeTrigger(const MemStatsSample& s) {
  if (!options_.trigger || growth_snapshots_ >= options_.trigger->max_snapshots) return;
  const double window_s = std::chrono::duration<double>(options_.trigger->window).count();
  // The lowest heap-object count within the window before this reading.
  std::optional<std::uint64_t> low;
  for (auto it = memstats_.rbegin(); it != memstats_.rend(); ++it) {
    if (s.t_s - it->t_s > window_s || it->t_s < last_trigger_t_) break;
    if (!low || it->stats.heap_objects < *low) low = it->stats.heap_objects;
  }
  if (!low || s.stats.heap_objects <= *low) return;
  const std::uint64_t grown = s.stats.heap_objects - *low;
  bool fire = options_.trigger->objects && grown > *options_.trigger->objects;
  if (options_.trigger->fraction && *low > 0) {
    fire = fire || static_cast<double>(grown) / static_cast<double>(*low) > *options_.trigger->fraction;
  }
  if (!fire) return;
  ++growth_snapshots_;
  std::string name;
  {
    std::lock_guard<std::mutex> lock(mu_);
    name = stage_name_;
  }
  spdlog::info("heap objects grew by {} within {:.0f}s: saving a heap profile", grown, window_s);
  snapshot(s.stage, name + "-growth-" + std::to_string(growth_snapshots_), "growth");
  last_trigger_t_ = s.t_s;  // the next window starts here, so one burst saves one profile
}

void PprofObserver::liveReading(std::size_t stage, const char* kind) {
  std::optional<LiveHeapReading> best;
  for (std::uint32_t i = 0; i < std::max<std::uint32_t>(1, options_.live_tries); ++i) {
    if (i > 0) std::this_thread::sleep_for(options_.live_try_gap);
    std::chrono::nanoseconds elapsed{0};
    auto ms = client_.fetchMemStatsAfterGc(&elapsed);
    if (!ms) {
      fail("heap_live", ms.error());
      return;
    }
    if (!best || ms->heap_objects < best->objects) {
      best = LiveHeapReading{
          now_s(), stage, kind, ms->heap_objects, ms->heap_alloc_bytes, 0, std::chrono::duration<double, std::milli>(elapsed).count()};
    }
    best->tries = i + 1;
  }
  std::string name;
  {
    std::lock_guard<std::mutex> lock(mu_);
    name = stage < stage_names_.size() ? stage_names_[stage] : std::string();
  }
  write_line_(liveHeapToJson(*best, name));
  live_.push_back(*best);
}

void PprofObserver::snapshot(std::size_t stage, const std::string& file_stem, const std::string& reason) {
  // profiles/ under the run's output directory: a symlink planted there is refused, a profile is
  // written through a random O_EXCL temporary file renamed into place (util/fs).
  auto dir = openOutputDir(options_.profiles_dir, DirTrust::kOutput, 0755);
  if (!dir) {
    fail("heap", dir.error(), "io");
    return;
  }
  auto snap = client_.fetchHeapProfileRaw();
  if (!snap) {
    fail("heap", snap.error());
    return;
  }
  const std::string name = file_stem + ".pb.gz";
  const std::string path = joinPath(options_.profiles_dir, name);
  if (auto st = writeFileAtomicAt(dir->get(), name, snap->raw, 0644, path); !st) {
    fail("heap", st.error(), "io");
    return;
  }
  snapshots_.push_back({now_s(), stage, reason, path});
}

}  // namespace memstrain
