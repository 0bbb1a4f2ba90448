#include "memstrain/model/probe_window.hpp"

#include <algorithm>

namespace memstrain {

using Clock = std::chrono::steady_clock;

void ProbeWindow::merge(const ProbeWindow& later) {
  if (start == Clock::time_point{} || (later.start != Clock::time_point{} && later.start < start)) start = later.start;
  end = std::max(end, later.end);
  sent += later.sent;
  missed += later.missed;
  completed += later.completed;
  ok += later.ok;
  errors.timeout += later.errors.timeout;
  errors.connect += later.errors.connect;
  errors.http_status += later.errors.http_status;
  errors.other += later.errors.other;
  cancelled += later.cancelled;
  outstanding = later.outstanding;
  probe_cpu += later.probe_cpu;
  corrected.merge(later.corrected);
  uncorrected.merge(later.uncorrected);
  sched_lag.merge(later.sched_lag);
}

double ProbeWindow::errorRate() const {
  return completed == 0 ? 0.0 : static_cast<double>(errors.total()) / static_cast<double>(completed);
}

double ProbeWindow::seconds() const {
  if (start == Clock::time_point{} || end < start) return 0;
  return std::chrono::duration<double>(end - start).count();
}

}  // namespace memstrain
