#include "parse_sections.hpp"

#include <algorithm>
#include <cstdio>

namespace memstrain::plan_parsing {

std::string typeName(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "an unsupported value";
  }
}

// RFC 6901 escaping, plus control characters as \u00XX so that a NUL or a newline in a key cannot
// cut or forge a line of the error output.
std::string escapePointerToken(const std::string& key) {
  std::string out;
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

bool validStageName(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  if (n == "." || n == "..") return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

bool validCgroupPath(const std::string& p) {
  if (p.empty() || p.front() != '/') return false;
  std::size_t i = 0;
  while (i <= p.size()) {
    std::size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string_view part(p.data() + i, j - i);
    // "..", "." and empty parts ("//") would let a path name the root or a parent in disguise.
    if (part == ".." || part == "." || (part.empty() && p != "/" && i != 0)) return false;
    i = j + 1;
  }
  return true;
}

}  // namespace memstrain::plan_parsing
