#pragma once
// Decoding of pprof profiles (the gzip-compressed perftools.profiles.Profile protobuf that Go serves
// at /debug/pprof/heap) into plain memstrain structs.
//
// The bytes are untrusted: decompression is capped, and every index and id inside the profile is
// checked before use. Nothing here throws; every failure is an Error that says what was wrong and,
// for a bad reference, which index was out of range and what referred to it.
//
// The result is flattened (tables plus offsets) rather than a tree of small vectors, so that a
// profile with a million samples costs a handful of allocations, not millions.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "memstrain/util/result.hpp"

namespace memstrain {

/// Caps applied to a profile body before and after decompression.
struct PprofLimits {
  std::size_t max_compressed_bytes = std::size_t{64} << 20;     ///< 64 MiB
  std::size_t max_decompressed_bytes = std::size_t{512} << 20;  ///< 512 MiB
};

/// What one sample value measures, e.g. {"inuse_space", "bytes"}.
struct ProfileValueType {
  std::string type;
  std::string unit;
};

/// A function, with its strings resolved from the string table.
struct ProfileFunction {
  std::uint64_t id = 0;
  std::string name;
  std::string system_name;
  std::string filename;
  std::int64_t start_line = 0;
};

/// One line of a location: a function (index into HeapProfile::functions) and a line number.
struct ProfileLine {
  /// Index into HeapProfile::functions, or kNoFunction when the line names none (function_id 0).
  std::uint32_t function_index = 0;
  std::int64_t line = 0;

  static constexpr std::uint32_t kNoFunction = 0xFFFFFFFFu;
};

/// A mapped binary or library.
struct ProfileMapping {
  std::uint64_t id = 0;
  std::uint64_t memory_start = 0;
  std::uint64_t memory_limit = 0;
  std::uint64_t file_offset = 0;
  std::string filename;
  std::string build_id;
  bool has_functions = false;
};

/// A program counter and the (possibly inlined) functions at it. Its lines are
/// HeapProfile::lines[first_line, first_line + line_count); the first is the innermost callee,
/// the last the outermost caller, as in the pprof format.
struct ProfileLocation {
  std::uint64_t id = 0;
  std::uint64_t address = 0;
  /// Index into HeapProfile::mappings, or kNoMapping when mapping_id is 0.
  std::uint32_t mapping_index = kNoMapping;
  std::uint32_t first_line = 0;
  std::uint32_t line_count = 0;

  static constexpr std::uint32_t kNoMapping = 0xFFFFFFFFu;
};

/// A sampled stack: HeapProfile::sample_locations[first_location, first_location + location_count)
/// holds indices into HeapProfile::locations, leaf first. Its values are
/// HeapProfile::sample_values[i * sample_types.size() ...] for sample i (see sampleValues()).
struct ProfileSample {
  std::uint32_t first_location = 0;
  std::uint32_t location_count = 0;
};

/// A decoded, validated profile. Every index in it is in range, so readers need no checks.
/// Labels are not kept: heap summaries do not use them.
struct HeapProfile {
  std::vector<ProfileValueType> sample_types;
  /// Name of the preferred sample type, "" when the profile names none.
  std::string default_sample_type;
  ProfileValueType period_type;
  std::int64_t period = 0;
  std::int64_t time_nanos = 0;
  std::int64_t duration_nanos = 0;

  std::vector<ProfileMapping> mappings;
  std::vector<ProfileFunction> functions;
  std::vector<ProfileLine> lines;
  std::vector<ProfileLocation> locations;
  std::vector<ProfileSample> samples;
  std::vector<std::uint32_t> sample_locations;
  std::vector<std::int64_t> sample_values;
};

/// The values of sample `i` of `p`, one per sample type. `i` must be < p.samples.size().
inline std::span<const std::int64_t> sampleValues(const HeapProfile& p, std::size_t i) {
  const std::size_t n = p.sample_types.size();
  return {p.sample_values.data() + i * n, n};
}

/// The location indices of `s`, leaf first.
inline std::span<const std::uint32_t> sampleStack(const HeapProfile& p, const ProfileSample& s) {
  return {p.sample_locations.data() + s.first_location, s.location_count};
}

/// The lines of `l`, innermost callee first.
inline std::span<const ProfileLine> locationLines(const HeapProfile& p, const ProfileLocation& l) {
  return {p.lines.data() + l.first_line, l.line_count};
}

/// True when `data` starts with the gzip magic bytes 1f 8b.
bool looksGzipped(std::string_view data);

/// Decompresses a gzip stream (several concatenated members are accepted, as gunzip does).
/// Returns an Error for a body that is not gzip, is truncated or corrupt, or that would inflate to
/// more than `max_decompressed_bytes` (decompression stops at the cap: a gzip bomb costs at most
/// the cap in memory).
Result<std::string> gunzipCapped(std::string_view gzipped, std::size_t max_decompressed_bytes);

/// Decodes a pprof profile body: gzip-compressed (as Go serves it) or a bare protobuf. Validates
/// that string_table[0] is "", that every string index, function id, location id and mapping id
/// refers to an existing entry, that ids are non-zero and unique, and that each sample has one
/// value per sample type. Returns an Error naming the first violation.
Result<HeapProfile> decodeProfile(std::string_view body, const PprofLimits& limits = {});

/// Reads `path` (at most limits.max_compressed_bytes) and decodes it as decodeProfile() does.
/// Errors name the path.
Result<HeapProfile> readProfileFile(const std::string& path, const PprofLimits& limits = {});

}  // namespace memstrain
