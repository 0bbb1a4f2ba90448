#include "memstrain/model/run_record.hpp"

namespace memstrain {

const char* toString(RunStatus s) {
  switch (s) {
    case RunStatus::kCompleted: return "completed";
    case RunStatus::kAborted: return "aborted";
    case RunStatus::kInterrupted: return "interrupted";
    case RunStatus::kError: return "error";
  }
  return "error";
}

}  // namespace memstrain
