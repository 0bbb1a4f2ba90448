#include "memstrain/os/clock.hpp"

#include <thread>

namespace memstrain {
namespace {

class RealClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
  std::int64_t wallMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
  void sleepUntil(time_point t) override { std::this_thread::sleep_until(t); }
};

}  // namespace

Clock& realClock() {
  static RealClock clock;
  return clock;
}

}  // namespace memstrain
