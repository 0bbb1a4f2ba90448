#pragma once
// Go-like heap profiles built with the generated protobuf classes, for tests that decode, diff or
// report on profiles.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "profile.pb.h"

namespace memstrain::testing {

/// A profile with Go's four heap sample types (alloc_objects, alloc_space, inuse_objects,
/// inuse_space) and one mapping; add locations and samples, then take bytes() or gz().
class ProfileBuilder {
 public:
  ProfileBuilder();

  /// Index of `s` in the string table, added on first use.
  std::int64_t str(const std::string& s);
  /// Id of the function `name`, added on first use.
  std::uint64_t fn(const std::string& name);
  /// A location whose lines are `names`, innermost (inlined callee) first; returns its id.
  std::uint64_t loc(const std::vector<std::string>& names);
  /// A sample with the stack `locs` (leaf first) and one value per sample type.
  void sample(const std::vector<std::uint64_t>& locs, std::vector<std::int64_t> values);

  std::string bytes() const { return p.SerializeAsString(); }
  /// bytes() gzip-compressed, as Go's pprof endpoint serves them.
  std::string gz() const;

  perftools::profiles::Profile p;

 private:
  std::map<std::string, std::int64_t> strings_;
  std::map<std::string, std::uint64_t> functions_;
};

}  // namespace memstrain::testing
