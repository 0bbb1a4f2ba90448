#include "memstrain/model/stage_stats.hpp"

namespace memstrain {

const char* toString(ReleaseOutcome o) {
  switch (o) {
    case ReleaseOutcome::kReturned: return "returned";
    case ReleaseOutcome::kLazy: return "lazy";
    case ReleaseOutcome::kNotReturned: return "not_returned";
    case ReleaseOutcome::kHugePagesHeld: return "huge_pages_held";
    case ReleaseOutcome::kNothingReleased: return "nothing_released";
    case ReleaseOutcome::kNoData: return "no_data";
  }
  return "no_data";
}

const char* comesBack(ReleaseOutcome o, const ReclaimResult* reclaim) {
  switch (o) {
    case ReleaseOutcome::kReturned: return "yes";
    case ReleaseOutcome::kLazy:
    case ReleaseOutcome::kHugePagesHeld: return reclaim != nullptr && reclaim->gave_back ? "yes" : "no";
    case ReleaseOutcome::kNotReturned: return "no";
    case ReleaseOutcome::kNothingReleased: return "nothing_released";
    case ReleaseOutcome::kNoData: return "no_data";
  }
  return "no_data";
}

}  // namespace memstrain
