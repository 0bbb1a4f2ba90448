#include "memstrain/model/stage_stats.hpp"

namespace memstrain {

const char* toString(ReleaseOutcome o) {
  switch (o) {
    case ReleaseOutcome::kReturned: return "returned";
    case ReleaseOutcome::kLazy: return "lazy";
    case ReleaseOutcome::kNotReturned: return "not_returned";
    case ReleaseOutcome::kNothingReleased: return "nothing_released";
    case ReleaseOutcome::kNoData: return "no_data";
  }
  return "no_data";
}

}  // namespace memstrain
