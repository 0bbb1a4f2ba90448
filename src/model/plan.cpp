#include "memstrain/model/plan.hpp"

namespace memstrain {

using std::chrono::nanoseconds;

const char* toString(Placement p) {
  switch (p) {
    case Placement::kInside: return "inside";
    case Placement::kBeside: return "beside";
    case Placement::kNode: return "node";
  }
  return "inside";
}

const char* toString(ReleaseTrigger::Kind k) {
  switch (k) {
    case ReleaseTrigger::Kind::kHttp: return "http";
    case ReleaseTrigger::Kind::kSignal: return "signal";
    case ReleaseTrigger::Kind::kCommand: return "command";
  }
  return "http";
}

nanoseconds Plan::totalDuration() const {
  nanoseconds total{0};
  for (const auto& s : stages) total += s.duration;
  return total;
}

}  // namespace memstrain
