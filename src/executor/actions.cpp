#include "memstrain/executor/actions.hpp"

#include <spdlog/spdlog.h>

#include "memstrain/observers/http_client.hpp"
#include "memstrain/util/units.hpp"

namespace memstrain {

ActionRunner::ActionRunner() : thread_([this] { loop(); }) {}

ActionRunner::~ActionRunner() { stop(); }

void ActionRunner::submit(const StageAction& action, const std::string& stage, double t_s) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back({action, stage, t_s});
  }
  cv_.notify_one();
}

std::vector<RunEvent> ActionRunner::drain() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<RunEvent> out;
  out.swap(done_);
  return out;
}

void ActionRunner::stop(std::chrono::milliseconds grace) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
    // The worker signals cv_ when it is out of work; past the grace, everything left is cut short.
    if (!cv_.wait_for(lock, grace, [&] { return queue_.empty() && !busy_; })) abort_.store(true);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ActionRunner::loop() {
  HttpClient client;
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        cv_.notify_all();
        return;
      }
      job = std::move(queue_.front());
      queue_.pop_front();
      if (abort_.load()) {
        done_.push_back({job.t_s, "action_skipped", job.stage,
                         job.action.method + " " + job.action.url + " not sent: the run was ending and earlier actions used up the grace"});
        continue;
      }
      busy_ = true;
    }
    HttpOptions o;
    o.total_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(job.action.timeout);
    o.connect_timeout = std::min(o.connect_timeout, o.total_timeout);
    o.max_body_bytes = 1 << 20;
    o.abort = &abort_;
    client.setOptions(o);
    const std::string what = job.action.method + " " + job.action.url;
    HttpResult r =
        job.action.method == "GET" ? client.get(job.action.url) : client.post(job.action.url, job.action.body, "application/json");
    RunEvent e{job.t_s, r ? "action" : "action_error", job.stage, ""};
    if (r) {
      e.detail = what + " -> " + std::to_string(r.value().status) + " in " + formatDuration(r.value().elapsed);
      spdlog::info("action {}", e.detail);
    } else {
      e.detail = what + " failed: " + r.error().message;
      spdlog::warn("action {}", e.detail);
    }
    std::lock_guard<std::mutex> lock(mu_);
    done_.push_back(std::move(e));
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace memstrain
