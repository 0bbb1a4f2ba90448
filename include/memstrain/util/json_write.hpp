#pragma once
// Serialising JSON that may hold text memstrain did not produce (a peer's error text, a cgroup or
// process name read from the kernel). nlohmann::json::dump() throws type_error 316 on a string
// that is not UTF-8; a report writer must never die of that, so every writer goes through here.

#include <string>

#include <nlohmann/json.hpp>

namespace memstrain {

/// `j` as text, like j.dump(indent), except that bytes in strings that are not well-formed UTF-8
/// become U+FFFD instead of throwing. Never throws except std::bad_alloc.
std::string dumpJson(const nlohmann::json& j, int indent = -1);

}  // namespace memstrain
