#pragma once
// gzip for tests that hand memstrain compressed bodies (pprof profiles, endpoint responses).

#include <string>
#include <string_view>

namespace memstrain::testing {

/// `data` gzip-compressed as Go's compress/gzip writes it (deflate with gzip framing, one member).
/// A zlib failure is recorded as a gtest failure and returns what was produced so far.
std::string gzip(std::string_view data);

}  // namespace memstrain::testing
