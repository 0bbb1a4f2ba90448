#include "memstrain/util/json_write.hpp"

namespace memstrain {

std::string dumpJson(const nlohmann::json& j, int indent) { return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace); }

}  // namespace memstrain
