#include "memstrain/executor/readiness.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include "memstrain/observers/http_client.hpp"
#include "memstrain/util/units.hpp"

namespace memstrain {

namespace {

// True once `pid` has ended. A child of ours is only peeked at (WNOWAIT) so that the executor
// still reaps it and learns how it ended; for other processes kill(0) tells.
bool exitedWithoutReaping(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0) return info.si_pid == pid;
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

}  // namespace

Status waitForReady(const std::string& url, std::chrono::nanoseconds timeout, std::optional<pid_t> pid, const std::atomic<int>* stop) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  HttpOptions ho;
  ho.max_body_bytes = 1 << 16;
  HttpClient client(ho);
  std::string last = "no attempt";
  while (Clock::now() < deadline) {
    if (stop && stop->load() != 0) return Error{"interrupted"};
    if (pid && exitedWithoutReaping(*pid)) return Error{"the target exited before it was ready"};
    // Each attempt gets at most a second and never outlives the deadline: a peer that hangs or
    // trickles cannot stretch ready_timeout.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    ho.total_timeout = std::clamp(left, std::chrono::milliseconds(1), std::chrono::milliseconds(1000));
    ho.connect_timeout = std::min(ho.total_timeout, std::chrono::milliseconds(500));
    client.setOptions(ho);
    auto r = client.get(url);
    if (r) return {};
    last = r.error().message;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Error{url + " did not answer 2xx within " + formatDuration(timeout) + " (last: " + last + ")"};
}

}  // namespace memstrain
