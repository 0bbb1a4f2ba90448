#include "memstrain/model/cgroup_sample.hpp"

namespace memstrain {

const char* toString(CgroupVersion v) { return v == CgroupVersion::kV1 ? "v1" : "v2"; }

}  // namespace memstrain
