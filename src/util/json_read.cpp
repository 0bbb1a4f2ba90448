#include "memstrain/util/json_read.hpp"

#include <cstdio>

namespace memstrain::json_read {

using nlohmann::json;

const json& at(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

const json& items(const json& j, const char* key) {
  static const json kEmpty = json::array();
  const json& v = at(j, key);
  return v.is_array() ? v : kEmpty;
}

std::optional<double> num(const json& j) {
  if (j.is_number()) return j.get<double>();
  return std::nullopt;
}

std::optional<double> num(const json& j, const char* key) { return num(at(j, key)); }

std::optional<std::uint64_t> u64(const json& j) {
  if (j.is_number_unsigned()) return j.get<std::uint64_t>();
  if (j.is_number_integer()) {
    const auto v = j.get<std::int64_t>();
    return v < 0 ? std::nullopt : std::optional<std::uint64_t>(static_cast<std::uint64_t>(v));
  }
  if (!j.is_number()) return std::nullopt;
  const double d = j.get<double>();
  if (!(d >= 0) || d >= 1.8e19) return std::nullopt;
  return static_cast<std::uint64_t>(d);
}

std::optional<std::uint64_t> u64(const json& j, const char* key) { return u64(at(j, key)); }

std::string str(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_integer()) return std::to_string(j.get<long long>());
  if (j.is_number_unsigned()) return std::to_string(j.get<unsigned long long>());
  if (j.is_number_float()) {
    char b[48];
    std::snprintf(b, sizeof b, "%g", j.get<double>());
    return b;
  }
  if (j.is_boolean()) return j.get<bool>() ? "true" : "false";
  return "";
}

std::string str(const json& j, const char* key) { return str(at(j, key)); }

}  // namespace memstrain::json_read
