#include "memstrain/observers/latency_probe.hpp"

#include <curl/curl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <ctime>
#include <mutex>
#include <thread>

#include "memstrain/util/text.hpp"

namespace memstrain {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t nowNs() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

Clock::time_point fromNs(std::int64_t ns) { return Clock::time_point(std::chrono::nanoseconds(ns)); }

// A request left to wait after this long past its timeout is abandoned at stop().
constexpr std::int64_t kDrainGraceNs = 250'000'000;

void initCurlOnce() {
  static std::once_flag once;
  // Other modules may call curl_global_init too; libcurl reference-counts it, and since 7.84 it is
  // thread-safe where CURL_VERSION_THREADSAFE is set (Debian's build). Never cleaned up: process
  // exit does it, and other threads may still be using curl.
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool isTokenChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

constexpr std::int64_t kNever = INT64_MAX;

// Waits for events until `deadline_ns` (steady clock; kNever: no deadline) with nanosecond
// precision. epoll_pwait2 (Linux 5.11) takes a timespec, which spares the two timerfds, their
// settime and read calls (4 syscalls per request at 1000/s); on older kernels fall back to
// epoll_wait rounded up to the next millisecond.
int waitUntil(int epoll_fd, epoll_event* events, int max_events, std::int64_t deadline_ns) {
  static std::atomic<bool> have_pwait2{true};
  std::int64_t left = 0;
  if (deadline_ns != kNever) left = std::max<std::int64_t>(0, deadline_ns - nowNs());
  if (have_pwait2.load(std::memory_order_relaxed)) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(left / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(left % 1'000'000'000);
    const int n = ::epoll_pwait2(epoll_fd, events, max_events, deadline_ns == kNever ? nullptr : &ts, nullptr);
    if (n >= 0 || errno != ENOSYS) return n;
    have_pwait2.store(false);
  }
  const int timeout_ms = deadline_ns == kNever ? -1 : static_cast<int>(std::min<std::int64_t>((left + 999'999) / 1'000'000, INT32_MAX));
  return ::epoll_wait(epoll_fd, events, max_events, timeout_ms);
}

void drainFd(int fd) {
  std::uint64_t v = 0;
  [[maybe_unused]] const auto n = ::read(fd, &v, sizeof v);
}

std::size_t discardBody(char*, std::size_t size, std::size_t nmemb, void*) { return size * nmemb; }

// A fixed-capacity FIFO of intended send times (sends waiting for a connection when
// `concurrency` caps the transfers). Sized once at start: pushing never allocates.
class TimeQueue {
 public:
  void reserve(std::size_t capacity) { buf_.assign(std::max<std::size_t>(capacity, 1), 0); }
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  bool push(std::int64_t v) {
    if (size_ == buf_.size()) return false;
    buf_[(head_ + size_) % buf_.size()] = v;
    ++size_;
    return true;
  }
  std::int64_t pop() {
    const std::int64_t v = buf_[head_];
    head_ = (head_ + 1) % buf_.size();
    --size_;
    return v;
  }
  void clear() { head_ = size_ = 0; }

 private:
  std::vector<std::int64_t> buf_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Pure parts

Status validateProbeSpec(const ProbeSpec& c) {
  const std::string where = "probe \"" + c.name + "\": ";
  if (!startsWith(c.url, "http://") && !startsWith(c.url, "https://")) {
    return Error{where + "url: expected an http:// or https:// URL, got \"" + c.url + "\""};
  }
  if (c.url.find_first_of("\r\n ") != std::string::npos) return Error{where + "url: contains whitespace"};
  if (c.method.empty() || !std::all_of(c.method.begin(), c.method.end(), isTokenChar)) {
    return Error{where + "method: expected an HTTP method token like GET, got \"" + c.method + "\""};
  }
  for (const auto& h : c.headers) {
    const std::size_t colon = h.find(':');
    if (colon == 0 || colon == std::string::npos || h.find_first_of("\r\n") != std::string::npos ||
        !std::all_of(h.begin(), h.begin() + static_cast<std::ptrdiff_t>(colon), isTokenChar)) {
      return Error{where + "headers: expected \"Name: value\" without line breaks, got \"" + h + "\""};
    }
  }
  if (!std::isfinite(c.rate_per_s) || c.rate_per_s <= 0 || c.rate_per_s > 100000) {
    return Error{where + "rate_per_s: expected a rate above 0 and at most 100000 per second"};
  }
  if (c.timeout < std::chrono::milliseconds(1)) return Error{where + "timeout: must be at least 1 ms"};
  if (c.max_in_flight == 0) return Error{where + "max_in_flight: must be at least 1"};
  if (c.concurrency > c.max_in_flight) return Error{where + "concurrency: must not exceed max_in_flight"};
  if (c.expect_status.empty()) return Error{where + "expect_status: must name at least one status"};
  for (const auto& r : c.expect_status) {
    if (r.first < 100 || r.last > 599 || r.first > r.last) {
      return Error{where + "expect_status: " + std::to_string(r.first) + "-" + std::to_string(r.last) +
                   " is not an ascending range within 100..599"};
    }
  }
  return Status::success();
}

const char* toString(ProbeOutcome outcome) {
  switch (outcome) {
    case ProbeOutcome::kOk: return "ok";
    case ProbeOutcome::kTimeout: return "timeout";
    case ProbeOutcome::kConnect: return "connect";
    case ProbeOutcome::kHttpStatus: return "http_status";
    case ProbeOutcome::kOther: return "other";
  }
  return "other";
}

ProbeOutcome classifyTransfer(int curl_code, long http_status, const std::vector<StatusRange>& expect) {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_OK:
      return std::any_of(expect.begin(), expect.end(), [&](const StatusRange& r) { return r.contains(http_status); })
                 ? ProbeOutcome::kOk
                 : ProbeOutcome::kHttpStatus;
    case CURLE_OPERATION_TIMEDOUT: return ProbeOutcome::kTimeout;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return ProbeOutcome::kConnect;
    default: return ProbeOutcome::kOther;
  }
}

std::chrono::nanoseconds scheduleOffset(std::uint64_t i, double rate_per_s) {
  return std::chrono::nanoseconds(
      static_cast<std::int64_t>(std::llround(static_cast<long double>(i) * 1e9L / static_cast<long double>(rate_per_s))));
}

// ---------------------------------------------------------------------------------------------
// The probe thread

struct LatencyProbe::Impl {
  struct Slot {
    CURL* easy = nullptr;
    std::int64_t intended_ns = 0;
    std::int64_t sent_ns = 0;
  };

  explicit Impl(const ProbeSpec& c) : cfg(c) {}
  ~Impl();

  Status setUp();
  void run();

  // curl callbacks.
  static int socketCallback(CURL*, curl_socket_t s, int what, void* userp, void* socketp) {
    return static_cast<Impl*>(userp)->onSocket(s, what, socketp);
  }
  static int timerCallback(CURLM*, long timeout_ms, void* userp) {
    static_cast<Impl*>(userp)->onTimer(timeout_ms);
    return 0;
  }
  int onSocket(curl_socket_t s, int what, void* socketp);
  void onTimer(long timeout_ms);

  Slot* acquireSlot();
  void send(std::int64_t intended_ns);
  void dispatchDue(std::int64_t now);
  void collectCompletions();
  void socketAction(curl_socket_t s, int ev_bitmask);
  std::int64_t nextIntendedNs() const { return t0_ns + scheduleOffset(next_index, cfg.rate_per_s).count(); }
  std::int64_t threadCpuNsLocked();

  const ProbeSpec& cfg;
  CURLM* multi = nullptr;
  curl_slist* header_list = nullptr;
  int epoll_fd = -1;
  int wake_fd = -1;  // eventfd: stop()
  std::atomic<bool> stop_requested{false};
  std::thread thread;
  clockid_t cpu_clock{};
  bool have_cpu_clock = false;

  // Probe-thread state.
  std::vector<std::unique_ptr<Slot>> slots;  // owns every easy handle ever created
  std::vector<Slot*> free_slots;
  TimeQueue waiting;       // intended times waiting for a connection (concurrency cap)
  std::size_t active = 0;  // transfers added to the multi handle
  std::int64_t t0_ns = 0;
  std::uint64_t next_index = 0;
  bool kick = false;                       // curl asked to be called back at once (timeout 0)
  std::int64_t curl_deadline_ns = kNever;  // when curl wants CURL_SOCKET_TIMEOUT

  // Shared with takeWindow(), under mu.
  std::mutex mu;
  ProbeWindow current;
  std::int64_t cpu_at_window_start_ns = 0;
  bool thread_exited = false;
  std::int64_t final_cpu_ns = 0;
  std::atomic<std::uint64_t> outstanding{0};
};

LatencyProbe::Impl::~Impl() {
  for (auto& s : slots) {
    if (multi != nullptr) curl_multi_remove_handle(multi, s->easy);  // harmless if not added
    curl_easy_cleanup(s->easy);
  }
  if (multi != nullptr) curl_multi_cleanup(multi);
  if (header_list != nullptr) curl_slist_free_all(header_list);
  for (int fd : {epoll_fd, wake_fd}) {
    if (fd >= 0) ::close(fd);
  }
}

Status LatencyProbe::Impl::setUp() {
  initCurlOnce();
  epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return Error::fromErrno("latency probe: epoll_create1");
  wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) return Error::fromErrno("latency probe: eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev) != 0) return Error::fromErrno("latency probe: epoll_ctl");

  multi = curl_multi_init();
  if (multi == nullptr) return Error{"latency probe: curl_multi_init failed"};
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socketCallback);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timerCallback);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  // Idle keep-alive connections kept for reuse. Enough for the steady state (rate x latency) and
  // for the burst after a stall; surplus connections are closed instead of piling up.
  const std::size_t cache = cfg.concurrency > 0 ? cfg.concurrency : std::min<std::size_t>(cfg.max_in_flight, 512);
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(cache));

  for (const auto& h : cfg.headers) header_list = curl_slist_append(header_list, h.c_str());
  if (!cfg.body.empty()) header_list = curl_slist_append(header_list, "Expect:");  // no 100-continue round trip

  const std::size_t pool = cfg.concurrency > 0 ? cfg.concurrency : cfg.max_in_flight;
  waiting.reserve(cfg.max_in_flight);
  slots.reserve(pool);
  free_slots.reserve(pool);
  // One handle now, so that a broken curl shows up in start() and not as errors later.
  Slot* first = acquireSlot();
  if (first == nullptr) return Error{"latency probe: curl_easy_init failed"};
  free_slots.push_back(first);
  return Status::success();
}

// A free easy handle with every option set, or nullptr when curl cannot make one. Handles are
// created on demand (the pool only grows when more requests are outstanding than ever before) and
// reused: the options stay set, only the two timestamps change per request.
LatencyProbe::Impl::Slot* LatencyProbe::Impl::acquireSlot() {
  if (!free_slots.empty()) {
    Slot* s = free_slots.back();
    free_slots.pop_back();
    return s;
  }
  CURL* e = curl_easy_init();
  if (e == nullptr) return nullptr;
  auto slot = std::make_unique<Slot>();
  slot->easy = e;
  curl_easy_setopt(e, CURLOPT_URL, cfg.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  const auto timeout_ms = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(cfg.timeout).count());
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discardBody);
  curl_easy_setopt(e, CURLOPT_PRIVATE, slot.get());
  if (header_list != nullptr) curl_easy_setopt(e, CURLOPT_HTTPHEADER, header_list);
  if (cfg.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (cfg.method != "GET" || !cfg.body.empty()) {
    if (!cfg.body.empty()) {
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, cfg.body.data());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(cfg.body.size()));
    }
    if (cfg.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, cfg.method.c_str());
  }
  slots.push_back(std::move(slot));
  return slots.back().get();
}

int LatencyProbe::Impl::onSocket(curl_socket_t s, int what, void* socketp) {
  if (what == CURL_POLL_REMOVE) {
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, s, nullptr);  // may already be gone with the close
    return 0;
  }
  epoll_event ev{};
  ev.events = ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0U) | ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0U);
  ev.data.fd = s;
  if (socketp == nullptr) {
    // First time curl tells us about this socket: mark it so the next call modifies instead.
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, s, &ev) != 0 && errno == EEXIST) {
      ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, s, &ev);
    }
    curl_multi_assign(multi, s, this);
  } else if (::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT) {
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, s, &ev);
  }
  return 0;
}

void LatencyProbe::Impl::onTimer(long timeout_ms) {
  if (timeout_ms < 0) {
    curl_deadline_ns = kNever;
  } else if (timeout_ms == 0) {
    kick = true;  // handled by the loop right after the current curl call returns
  } else {
    curl_deadline_ns = nowNs() + static_cast<std::int64_t>(timeout_ms) * 1'000'000;
  }
}

void LatencyProbe::Impl::send(std::int64_t intended_ns) {
  Slot* s = acquireSlot();
  const std::int64_t now = nowNs();
  if (s == nullptr) {  // curl could not allocate a handle: the request is not made
    std::lock_guard<std::mutex> lock(mu);
    ++current.missed;
    outstanding.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  s->intended_ns = intended_ns;
  s->sent_ns = now;
  if (curl_multi_add_handle(multi, s->easy) != CURLM_OK) {
    free_slots.push_back(s);
    std::lock_guard<std::mutex> lock(mu);
    ++current.missed;
    outstanding.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  ++active;
  std::lock_guard<std::mutex> lock(mu);
  ++current.sent;
  current.sched_lag.record(std::chrono::nanoseconds(now - intended_ns));
}

void LatencyProbe::Impl::dispatchDue(std::int64_t now) {
  for (std::int64_t due = nextIntendedNs(); due <= now; due = nextIntendedNs()) {
    ++next_index;
    if (outstanding.load(std::memory_order_relaxed) >= cfg.max_in_flight) {
      std::lock_guard<std::mutex> lock(mu);
      ++current.missed;
      continue;
    }
    outstanding.fetch_add(1, std::memory_order_relaxed);
    if (cfg.concurrency > 0 && active >= cfg.concurrency) {
      waiting.push(due);  // cannot fail: outstanding < max_in_flight = capacity
    } else {
      send(due);
    }
  }
}

void LatencyProbe::Impl::collectCompletions() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    const std::int64_t done = nowNs();
    CURL* e = msg->easy_handle;
    const CURLcode rc = msg->data.result;  // msg is invalid after remove_handle
    Slot* s = nullptr;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, &s);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(multi, e);
    free_slots.push_back(s);
    --active;
    outstanding.fetch_sub(1, std::memory_order_relaxed);
    const ProbeOutcome outcome = classifyTransfer(rc, status, cfg.expect_status);
    {
      std::lock_guard<std::mutex> lock(mu);
      ++current.completed;
      if (rc == CURLE_OK) {  // a response arrived, expected or not: it has a latency
        current.corrected.record(std::chrono::nanoseconds(done - s->intended_ns));
        current.uncorrected.record(std::chrono::nanoseconds(done - s->sent_ns));
      }
      switch (outcome) {
        case ProbeOutcome::kOk: ++current.ok; break;
        case ProbeOutcome::kTimeout: ++current.errors.timeout; break;
        case ProbeOutcome::kConnect: ++current.errors.connect; break;
        case ProbeOutcome::kHttpStatus: ++current.errors.http_status; break;
        case ProbeOutcome::kOther: ++current.errors.other; break;
      }
    }
    if (!waiting.empty() && !stop_requested.load(std::memory_order_relaxed)) send(waiting.pop());
  }
}

void LatencyProbe::Impl::socketAction(curl_socket_t s, int ev_bitmask) {
  int running = 0;
  curl_multi_socket_action(multi, s, ev_bitmask, &running);
  collectCompletions();
}

std::int64_t LatencyProbe::Impl::threadCpuNsLocked() {
  if (thread_exited) return final_cpu_ns;
  if (!have_cpu_clock) return 0;
  timespec ts{};
  if (::clock_gettime(cpu_clock, &ts) != 0) return cpu_at_window_start_ns;
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void LatencyProbe::Impl::run() {
  // Signals are the executor's business (it handles SIGINT/SIGTERM on its own terms).
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  // The kernel may defer a sleeping thread's wake-up by its timer slack (50 µs by default) to
  // batch wake-ups; sends are due every millisecond at 1000/s, so ask for 1 µs.
  ::prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);

  t0_ns = nowNs();
  {
    std::lock_guard<std::mutex> lock(mu);
    if (current.start == Clock::time_point{}) current.start = fromNs(t0_ns);
  }
  bool draining = false;
  std::int64_t drain_deadline = 0;
  std::vector<epoll_event> events(64);

  for (;;) {
    const std::int64_t now = nowNs();
    if (!draining && stop_requested.load()) {
      draining = true;
      drain_deadline = now + std::chrono::nanoseconds(cfg.timeout).count() + kDrainGraceNs;
      std::lock_guard<std::mutex> lock(mu);
      current.cancelled += waiting.size();  // queued, never sent
      outstanding.fetch_sub(waiting.size(), std::memory_order_relaxed);
      waiting.clear();
    }
    if (!draining) dispatchDue(now);
    while (kick) {  // new transfers (or curl) want to run now, not after the next wake-up
      kick = false;
      socketAction(CURL_SOCKET_TIMEOUT, 0);
    }
    if (draining && (active == 0 || nowNs() >= drain_deadline)) break;

    const std::int64_t wake_at = std::min(draining ? drain_deadline : nextIntendedNs(), curl_deadline_ns);
    const int n = waitUntil(epoll_fd, events.data(), static_cast<int>(events.size()), wake_at);
    if (n < 0 && errno != EINTR) break;  // only EBADF/EINVAL: a bug, not a runtime condition
    if (curl_deadline_ns != kNever && nowNs() >= curl_deadline_ns) {
      curl_deadline_ns = kNever;
      socketAction(CURL_SOCKET_TIMEOUT, 0);
    }
    for (int i = 0; i < n; ++i) {
      const epoll_event& ev = events[static_cast<std::size_t>(i)];
      const int fd = ev.data.fd;
      if (fd == wake_fd) {
        drainFd(fd);
      } else {
        int mask = 0;
        if ((ev.events & EPOLLIN) != 0) mask |= CURL_CSELECT_IN;
        if ((ev.events & EPOLLOUT) != 0) mask |= CURL_CSELECT_OUT;
        if ((ev.events & (EPOLLERR | EPOLLHUP)) != 0) mask |= CURL_CSELECT_ERR;
        socketAction(fd, mask);
      }
    }
  }

  // Whatever is still on the wire is abandoned.
  std::uint64_t abandoned = 0;
  for (auto& s : slots) {
    if (std::find(free_slots.begin(), free_slots.end(), s.get()) == free_slots.end()) {
      curl_multi_remove_handle(multi, s->easy);
      free_slots.push_back(s.get());
      ++abandoned;
    }
  }
  active = 0;
  outstanding.store(0);
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  std::lock_guard<std::mutex> lock(mu);
  current.cancelled += abandoned;
  final_cpu_ns = static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  thread_exited = true;
}

// ---------------------------------------------------------------------------------------------
// LatencyProbe

LatencyProbe::LatencyProbe(ProbeSpec config) : config_(std::move(config)) {}

LatencyProbe::~LatencyProbe() { stop(); }

Status LatencyProbe::start() {
  if (impl_ != nullptr) return Error{"probe \"" + config_.name + "\": already started"};
  if (Status s = validateProbeSpec(config_); !s.ok()) return s;
  auto impl = std::make_unique<Impl>(config_);
  if (Status s = impl->setUp(); !s.ok()) return s;
  impl_ = std::move(impl);
  Impl* m = impl_.get();
  {
    std::lock_guard<std::mutex> lock(m->mu);
    m->current.start = Clock::now();
  }
  m->thread = std::thread([m] { m->run(); });
  // Linux thread names are at most 15 characters.
  const std::string thread_name = ("probe:" + config_.name).substr(0, 15);
  pthread_setname_np(m->thread.native_handle(), thread_name.c_str());
  {
    std::lock_guard<std::mutex> lock(m->mu);
    m->have_cpu_clock = pthread_getcpuclockid(m->thread.native_handle(), &m->cpu_clock) == 0;
  }
  return Status::success();
}

void LatencyProbe::requestStop() {
  if (impl_ == nullptr || !impl_->thread.joinable() || impl_->stop_requested.exchange(true)) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(impl_->wake_fd, &one, sizeof one);
}

void LatencyProbe::stop() {
  if (impl_ == nullptr || !impl_->thread.joinable()) return;
  requestStop();
  impl_->thread.join();
}

void stopProbes(const std::vector<LatencyProbe*>& probes) {
  for (LatencyProbe* p : probes) p->requestStop();
  for (LatencyProbe* p : probes) p->stop();
}

ProbeWindow LatencyProbe::takeWindow() {
  ProbeWindow next;  // allocated here, outside the lock
  if (impl_ == nullptr) return next;
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  const auto now = Clock::now();
  next.start = now;
  std::swap(next, m.current);
  next.end = now;  // `next` now holds the finished window
  next.outstanding = m.outstanding.load(std::memory_order_relaxed);
  const std::int64_t cpu = m.threadCpuNsLocked();
  next.probe_cpu = std::chrono::nanoseconds(std::max<std::int64_t>(0, cpu - m.cpu_at_window_start_ns));
  m.cpu_at_window_start_ns = cpu;
  return next;
}

}  // namespace memstrain
