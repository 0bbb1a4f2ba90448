#pragma once
// Reading JSON that memstrain did not just build in memory (report.json, samples.jsonl, possibly
// from another version or hand-edited): a missing key or a wrong type reads as absent, never throws.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace memstrain::json_read {

/// j[key] when j is an object that has it, else a null value.
const nlohmann::json& at(const nlohmann::json& j, const char* key);
/// j[key] when it is an array, else an empty array: loops over it never see a stray value.
const nlohmann::json& items(const nlohmann::json& j, const char* key);
/// The number, or nullopt for anything else.
std::optional<double> num(const nlohmann::json& j);
std::optional<double> num(const nlohmann::json& j, const char* key);
/// A non-negative integer (a float is truncated), or nullopt for anything else or out of range.
std::optional<std::uint64_t> u64(const nlohmann::json& j);
std::optional<std::uint64_t> u64(const nlohmann::json& j, const char* key);
/// A string as it is, a number or bool as text ("%g" for floats), anything else "".
std::string str(const nlohmann::json& j);
std::string str(const nlohmann::json& j, const char* key);

}  // namespace memstrain::json_read
