#pragma once
// SHA-256 (FIPS 180-4) of a byte string, to fingerprint the plan a report came from. Small and
// self-contained so that reports need no crypto library.

#include <string>
#include <string_view>

namespace memstrain {

/// Lower-case hex SHA-256 digest (64 characters) of `bytes`.
std::string sha256Hex(std::string_view bytes);

}  // namespace memstrain
