// How a profile is decoded, and why this way:
//  1. gunzip under a cap (zlib);
//  2. split the top-level Profile message with libprotobuf's CodedInputStream into views of its
//     fields, without copying (Go writes the string table last, so nothing can be resolved yet);
//  3. parse mappings, functions and locations one entry at a time with the generated classes and
//     resolve/validate their strings and ids;
//  4. decode samples straight into the flat arrays of HeapProfile, with CodedInputStream.
// Parsing the whole Profile with the generated classes builds one message per sample and label:
// for a 500k-sample heap profile that was 4x slower and 3x the memory of this path.
#include "memstrain/pprof/pprof_decode.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <limits>
#include <optional>
#include <unordered_map>
#include <utility>

#include "memstrain/util/fs.hpp"
#include "memstrain/util/text.hpp"
#include "profile.pb.h"

namespace memstrain {
namespace {

namespace pb = perftools::profiles;

constexpr std::uint32_t kMaxTableSize = std::numeric_limits<std::uint32_t>::max() - 1;

std::string describeZlib(const z_stream& zs, int rc) {
  if (zs.msg != nullptr) return zs.msg;
  return "zlib error " + std::to_string(rc);
}

// Maps the ids of one table (functions, locations, mappings) to positions in it. Go writes ids
// 1..n in order, so the common case is a bounds check; anything else goes through a hash map.
class IdIndex {
 public:
  // Returns an Error for a zero or repeated id; `what` names the table ("function").
  template <class GetId>
  static Result<IdIndex> build(std::size_t n, GetId get_id, const char* what) {
    IdIndex index;
    bool dense = true;
    for (std::size_t i = 0; i < n; ++i) {
      if (get_id(i) != i + 1) {
        dense = false;
        break;
      }
    }
    index.size_ = n;
    if (dense) return index;
    index.dense_ = false;
    index.map_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t id = get_id(i);
      if (id == 0) return Error{std::string(what) + " #" + std::to_string(i) + " has the reserved id 0"};
      auto [it, inserted] = index.map_.emplace(id, static_cast<std::uint32_t>(i));
      if (!inserted) {
        return Error{std::string(what) + " #" + std::to_string(i) + " repeats id " + std::to_string(id) + " of " + what + " #" +
                     std::to_string(it->second)};
      }
    }
    return index;
  }

  // Position of `id`, or nullopt when no entry has it.
  std::optional<std::uint32_t> find(std::uint64_t id) const {
    if (dense_) {
      if (id == 0 || id > size_) return std::nullopt;
      return static_cast<std::uint32_t>(id - 1);
    }
    auto it = map_.find(id);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }

 private:
  bool dense_ = true;
  std::size_t size_ = 0;
  std::unordered_map<std::uint64_t, std::uint32_t> map_;
};

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

constexpr std::uint32_t kWireVarint = WireFormatLite::WIRETYPE_VARINT;
constexpr std::uint32_t kWireLengthDelimited = WireFormatLite::WIRETYPE_LENGTH_DELIMITED;

// Field numbers of perftools.profiles.Profile, Sample and Label (see proto/profile.proto).
enum ProfileField : std::uint32_t {
  kSampleType = 1,
  kSample = 2,
  kMapping = 3,
  kLocation = 4,
  kFunction = 5,
  kStringTable = 6,
  kDropFrames = 7,
  kKeepFrames = 8,
  kTimeNanos = 9,
  kDurationNanos = 10,
  kPeriodType = 11,
  kPeriod = 12,
  kComment = 13,
  kDefaultSampleType = 14,
  kDocUrl = 15,
};
enum SampleField : std::uint32_t { kSampleLocationId = 1, kSampleValue = 2, kSampleLabel = 3 };
enum LabelField : std::uint32_t { kLabelKey = 1, kLabelStr = 2, kLabelNum = 3, kLabelNumUnit = 4 };

// Reads a length-delimited field's payload as a view into `base` (the array `in` reads from).
bool readBytes(CodedInputStream& in, const char* base, std::string_view* out) {
  int len = 0;
  if (!in.ReadVarintSizeAsInt(&len)) return false;
  const int pos = in.CurrentPosition();
  if (!in.Skip(len)) return false;
  *out = std::string_view(base + pos, static_cast<std::size_t>(len));
  return true;
}

// Reads one occurrence of a repeated varint field, packed (wire type 2) or not (wire type 0), and
// hands each value to `add`, which returns false to stop. Returns false on malformed input or
// when `add` stopped.
template <class Add>
bool readVarints(CodedInputStream& in, std::uint32_t wire_type, Add add) {
  std::uint64_t v = 0;
  if (wire_type == kWireVarint) return in.ReadVarint64(&v) && add(v);
  int len = 0;
  if (!in.ReadVarintSizeAsInt(&len)) return false;
  const CodedInputStream::Limit limit = in.PushLimit(len);
  while (in.BytesUntilLimit() > 0) {
    if (!in.ReadVarint64(&v) || !add(v)) return false;
  }
  in.PopLimit(limit);
  return true;
}

// A profile split at the top level: submessages stay views into the decoded bytes until the
// string table (which Go writes last) and the id tables are known.
struct RawProfile {
  std::vector<std::string_view> strings;
  std::vector<std::string_view> sample_types;
  std::vector<std::string_view> samples;
  std::vector<std::string_view> mappings;
  std::vector<std::string_view> locations;
  std::vector<std::string_view> functions;
  std::vector<std::string_view> period_type;  // a singular message may arrive in pieces: merged
  std::vector<std::int64_t> comments;
  std::int64_t drop_frames = 0;
  std::int64_t keep_frames = 0;
  std::int64_t time_nanos = 0;
  std::int64_t duration_nanos = 0;
  std::int64_t period = 0;
  std::int64_t default_sample_type = 0;
  std::int64_t doc_url = 0;
};

Result<RawProfile> scanProfile(std::string_view bytes) {
  RawProfile raw;
  CodedInputStream in(reinterpret_cast<const std::uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  auto malformed = [&](const char* what) {
    return Error{std::string("not a valid pprof protobuf: malformed ") + what + " near byte " + std::to_string(in.CurrentPosition()) +
                 " of " + std::to_string(bytes.size())};
  };
  auto int64Field = [&](std::int64_t* dest) {
    std::uint64_t v = 0;
    if (!in.ReadVarint64(&v)) return false;
    *dest = static_cast<std::int64_t>(v);
    return true;
  };
  while (const std::uint32_t tag = in.ReadTag()) {
    const std::uint32_t field = WireFormatLite::GetTagFieldNumber(tag);
    const std::uint32_t wire = WireFormatLite::GetTagWireType(tag);
    std::vector<std::string_view>* table = nullptr;
    std::int64_t* scalar = nullptr;
    switch (field) {
      case kSampleType: table = &raw.sample_types; break;
      case kSample: table = &raw.samples; break;
      case kMapping: table = &raw.mappings; break;
      case kLocation: table = &raw.locations; break;
      case kFunction: table = &raw.functions; break;
      case kStringTable: table = &raw.strings; break;
      case kPeriodType: table = &raw.period_type; break;
      case kDropFrames: scalar = &raw.drop_frames; break;
      case kKeepFrames: scalar = &raw.keep_frames; break;
      case kTimeNanos: scalar = &raw.time_nanos; break;
      case kDurationNanos: scalar = &raw.duration_nanos; break;
      case kPeriod: scalar = &raw.period; break;
      case kDefaultSampleType: scalar = &raw.default_sample_type; break;
      case kDocUrl: scalar = &raw.doc_url; break;
      default: break;
    }
    // A known field with an unexpected wire type is an unknown field to protobuf: skipped.
    if (table != nullptr && wire == kWireLengthDelimited) {
      std::string_view view;
      if (!readBytes(in, bytes.data(), &view)) return malformed("length-delimited field");
      table->push_back(view);
    } else if (scalar != nullptr && wire == kWireVarint) {
      if (!int64Field(scalar)) return malformed("varint");
    } else if (field == kComment && (wire == kWireVarint || wire == kWireLengthDelimited)) {
      auto add = [&](std::uint64_t v) {
        raw.comments.push_back(static_cast<std::int64_t>(v));
        return true;
      };
      if (!readVarints(in, wire, add)) return malformed("comment");
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return malformed("field");
    }
  }
  if (!in.ConsumedEntireMessage() || in.CurrentPosition() != static_cast<int>(bytes.size())) {
    return malformed("tag");
  }
  return raw;
}

// Resolves string table indices, turning a bad index into an Error that says who referred to it.
class StringTable {
 public:
  explicit StringTable(const std::vector<std::string_view>& table) : table_(table) {}

  bool contains(std::int64_t index) const { return index >= 0 && static_cast<std::uint64_t>(index) < table_.size(); }
  std::size_t size() const { return table_.size(); }

  // `who` is called only on failure, to build the context ("function #3 (id 4) name").
  template <class Who>
  Result<std::string> get(std::int64_t index, Who who) const {
    if (!contains(index)) return outOfRange(index, who());
    return std::string(table_[static_cast<std::size_t>(index)]);
  }

  Error outOfRange(std::int64_t index, const std::string& who) const {
    return Error{"string index " + std::to_string(index) + " out of range (string table has " + std::to_string(table_.size()) +
                 " entries), referenced by " + who};
  }

 private:
  const std::vector<std::string_view>& table_;
};

std::string entryName(const char* what, std::size_t pos, std::uint64_t id) {
  return std::string(what) + " #" + std::to_string(pos) + " (id " + std::to_string(id) + ")";
}

template <class Message>
Result<Message> parseEntry(std::string_view bytes, const char* what, std::size_t pos) {
  Message m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Error{std::string("not a valid pprof protobuf: malformed ") + what + " #" + std::to_string(pos)};
  }
  return m;
}

Result<ProfileValueType> convertValueType(const StringTable& strings, const pb::ValueType& vt, const std::string& who) {
  auto type = strings.get(vt.type(), [&] { return who + " type"; });
  if (!type) return type.error();
  auto unit = strings.get(vt.unit(), [&] { return who + " unit"; });
  if (!unit) return unit.error();
  return ProfileValueType{std::move(type).value(), std::move(unit).value()};
}

// Decodes sample `i` straight into the flat arrays of `out`: no per-sample message or vector.
Status appendSample(std::string_view bytes, std::size_t i, const IdIndex& location_ids, std::size_t n_locations, const StringTable& strings,
                    HeapProfile& out) {
  const std::size_t n_types = out.sample_types.size();
  const std::size_t values_before = out.sample_values.size();
  ProfileSample sample;
  sample.first_location = static_cast<std::uint32_t>(out.sample_locations.size());
  CodedInputStream in(reinterpret_cast<const std::uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  std::optional<Error> failure;
  auto malformed = [&] { return Error{"not a valid pprof protobuf: malformed sample #" + std::to_string(i)}; };
  while (const std::uint32_t tag = in.ReadTag()) {
    const std::uint32_t field = WireFormatLite::GetTagFieldNumber(tag);
    const std::uint32_t wire = WireFormatLite::GetTagWireType(tag);
    const bool varints = wire == kWireVarint || wire == kWireLengthDelimited;
    if (field == kSampleLocationId && varints) {
      auto add = [&](std::uint64_t id) {
        auto loc = location_ids.find(id);
        if (!loc) {
          failure = Error{"location id " + std::to_string(id) + " not found (profile has " + std::to_string(n_locations) +
                          " locations), referenced by frame #" + std::to_string(out.sample_locations.size() - sample.first_location) +
                          " of sample #" + std::to_string(i)};
          return false;
        }
        if (out.sample_locations.size() >= kMaxTableSize) {
          failure = Error{"profile has too many sample frames"};
          return false;
        }
        out.sample_locations.push_back(*loc);
        return true;
      };
      if (!readVarints(in, wire, add)) return failure ? *failure : malformed();
    } else if (field == kSampleValue && varints) {
      auto add = [&](std::uint64_t v) {
        out.sample_values.push_back(static_cast<std::int64_t>(v));
        return true;
      };
      if (!readVarints(in, wire, add)) return malformed();
    } else if (field == kSampleLabel && wire == kWireLengthDelimited) {
      std::string_view label;
      if (!readBytes(in, bytes.data(), &label)) return malformed();
      // Labels are not kept, but their string indices are checked like every other.
      CodedInputStream lin(reinterpret_cast<const std::uint8_t*>(label.data()), static_cast<int>(label.size()));
      while (const std::uint32_t ltag = lin.ReadTag()) {
        const std::uint32_t lfield = WireFormatLite::GetTagFieldNumber(ltag);
        std::uint64_t v = 0;
        if (WireFormatLite::GetTagWireType(ltag) != kWireVarint) {
          if (!WireFormatLite::SkipField(&lin, ltag)) return malformed();
          continue;
        }
        if (!lin.ReadVarint64(&v)) return malformed();
        const char* name = lfield == kLabelKey ? "key" : lfield == kLabelStr ? "str" : lfield == kLabelNumUnit ? "num_unit" : nullptr;
        if (name != nullptr && !strings.contains(static_cast<std::int64_t>(v))) {
          return strings.outOfRange(static_cast<std::int64_t>(v), std::string("label ") + name + " of sample #" + std::to_string(i));
        }
      }
      if (!lin.ConsumedEntireMessage()) return malformed();
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return malformed();
    }
  }
  if (!in.ConsumedEntireMessage()) return malformed();
  const std::size_t n_values = out.sample_values.size() - values_before;
  if (n_values != n_types) {
    return Error{"sample #" + std::to_string(i) + " has " + std::to_string(n_values) + " values but the profile has " +
                 std::to_string(n_types) + " sample types"};
  }
  sample.location_count = static_cast<std::uint32_t>(out.sample_locations.size() - sample.first_location);
  out.samples.push_back(sample);
  return {};
}

Result<HeapProfile> convert(const RawProfile& raw) {
  if (raw.strings.empty()) return Error{"profile has an empty string table (string_table[0] must be \"\")"};
  if (!raw.strings[0].empty()) {
    return Error{"string_table[0] must be \"\", found a " + std::to_string(raw.strings[0].size()) + "-byte string starting \"" +
                 sanitizeUntrusted(raw.strings[0], 40) + "\""};
  }
  for (auto* table : {&raw.samples, &raw.locations, &raw.functions, &raw.mappings}) {
    if (table->size() >= kMaxTableSize) return Error{"profile tables are too large"};
  }
  StringTable strings(raw.strings);
  HeapProfile out;

  // Sample types and metadata.
  out.sample_types.reserve(raw.sample_types.size());
  for (std::size_t i = 0; i < raw.sample_types.size(); ++i) {
    auto msg = parseEntry<pb::ValueType>(raw.sample_types[i], "sample_type", i);
    if (!msg) return msg.error();
    auto vt = convertValueType(strings, *msg, "sample_type #" + std::to_string(i));
    if (!vt) return vt.error();
    out.sample_types.push_back(std::move(vt).value());
  }
  if (!raw.period_type.empty()) {
    pb::ValueType merged;
    for (std::string_view piece : raw.period_type) {
      CodedInputStream cin(reinterpret_cast<const std::uint8_t*>(piece.data()), static_cast<int>(piece.size()));
      if (!merged.MergeFromCodedStream(&cin)) return Error{"not a valid pprof protobuf: malformed period_type"};
    }
    auto vt = convertValueType(strings, merged, "period_type");
    if (!vt) return vt.error();
    out.period_type = std::move(vt).value();
  }
  auto def = strings.get(raw.default_sample_type, [] { return std::string("default_sample_type"); });
  if (!def) return def.error();
  out.default_sample_type = std::move(def).value();
  for (std::size_t i = 0; i < raw.comments.size(); ++i) {
    if (!strings.contains(raw.comments[i])) return strings.outOfRange(raw.comments[i], "comment #" + std::to_string(i));
  }
  for (auto [idx, what] :
       {std::pair{raw.drop_frames, "drop_frames"}, std::pair{raw.keep_frames, "keep_frames"}, std::pair{raw.doc_url, "doc_url"}}) {
    if (!strings.contains(idx)) return strings.outOfRange(idx, what);
  }
  out.period = raw.period;
  out.time_nanos = raw.time_nanos;
  out.duration_nanos = raw.duration_nanos;

  // Mappings.
  std::vector<pb::Mapping> mappings(raw.mappings.size());
  for (std::size_t i = 0; i < raw.mappings.size(); ++i) {
    auto m = parseEntry<pb::Mapping>(raw.mappings[i], "mapping", i);
    if (!m) return m.error();
    mappings[i] = std::move(m).value();
  }
  auto mapping_ids = IdIndex::build(
      mappings.size(), [&](std::size_t i) { return mappings[i].id(); }, "mapping");
  if (!mapping_ids) return mapping_ids.error();
  out.mappings.reserve(mappings.size());
  for (std::size_t i = 0; i < mappings.size(); ++i) {
    const pb::Mapping& m = mappings[i];
    auto who = [&] { return entryName("mapping", i, m.id()); };
    auto file = strings.get(m.filename(), [&] { return who() + " filename"; });
    if (!file) return file.error();
    auto build_id = strings.get(m.build_id(), [&] { return who() + " build_id"; });
    if (!build_id) return build_id.error();
    out.mappings.push_back(ProfileMapping{m.id(), m.memory_start(), m.memory_limit(), m.file_offset(), std::move(file).value(),
                                          std::move(build_id).value(), m.has_functions()});
  }

  // Functions: their ids are needed before the locations that refer to them.
  std::vector<std::uint64_t> function_id_list(raw.functions.size());
  out.functions.reserve(raw.functions.size());
  pb::Function f;
  for (std::size_t i = 0; i < raw.functions.size(); ++i) {
    if (!f.ParseFromArray(raw.functions[i].data(), static_cast<int>(raw.functions[i].size()))) {
      return Error{"not a valid pprof protobuf: malformed function #" + std::to_string(i)};
    }
    auto who = [&] { return entryName("function", i, f.id()); };
    auto name = strings.get(f.name(), [&] { return who() + " name"; });
    if (!name) return name.error();
    auto system_name = strings.get(f.system_name(), [&] { return who() + " system_name"; });
    if (!system_name) return system_name.error();
    auto filename = strings.get(f.filename(), [&] { return who() + " filename"; });
    if (!filename) return filename.error();
    function_id_list[i] = f.id();
    out.functions.push_back(
        ProfileFunction{f.id(), std::move(name).value(), std::move(system_name).value(), std::move(filename).value(), f.start_line()});
  }
  auto function_ids = IdIndex::build(
      function_id_list.size(), [&](std::size_t i) { return function_id_list[i]; }, "function");
  if (!function_ids) return function_ids.error();

  // Locations and their lines.
  out.locations.reserve(raw.locations.size());
  pb::Location l;
  for (std::size_t i = 0; i < raw.locations.size(); ++i) {
    if (!l.ParseFromArray(raw.locations[i].data(), static_cast<int>(raw.locations[i].size()))) {
      return Error{"not a valid pprof protobuf: malformed location #" + std::to_string(i)};
    }
    ProfileLocation loc;
    loc.id = l.id();
    loc.address = l.address();
    if (l.mapping_id() != 0) {
      auto m = mapping_ids->find(l.mapping_id());
      if (!m) {
        return Error{"mapping id " + std::to_string(l.mapping_id()) + " not found (profile has " + std::to_string(mappings.size()) +
                     " mappings), referenced by " + entryName("location", i, l.id())};
      }
      loc.mapping_index = *m;
    }
    if (out.lines.size() + static_cast<std::size_t>(l.line_size()) >= kMaxTableSize) {
      return Error{"profile has too many location lines"};
    }
    loc.first_line = static_cast<std::uint32_t>(out.lines.size());
    loc.line_count = static_cast<std::uint32_t>(l.line_size());
    for (int j = 0; j < l.line_size(); ++j) {
      const pb::Line& ln = l.line(j);
      ProfileLine line;
      line.line = ln.line();
      line.function_index = ProfileLine::kNoFunction;
      if (ln.function_id() != 0) {
        auto fi = function_ids->find(ln.function_id());
        if (!fi) {
          return Error{"function id " + std::to_string(ln.function_id()) + " not found (profile has " +
                       std::to_string(out.functions.size()) + " functions), referenced by line #" + std::to_string(j) + " of " +
                       entryName("location", i, l.id())};
        }
        line.function_index = *fi;
      }
      out.lines.push_back(line);
    }
    out.locations.push_back(loc);
  }
  auto location_ids = IdIndex::build(
      out.locations.size(), [&](std::size_t i) { return out.locations[i].id; }, "location");
  if (!location_ids) return location_ids.error();

  // Samples, decoded straight into the flat arrays. Every frame takes at least one byte of input,
  // so the input size bounds the frame count; reserving that bound costs address space, not memory.
  std::size_t sample_bytes = 0;
  for (std::string_view s : raw.samples) sample_bytes += s.size();
  out.sample_locations.reserve(std::min<std::size_t>(sample_bytes, kMaxTableSize));
  out.samples.reserve(raw.samples.size());
  out.sample_values.reserve(raw.samples.size() * out.sample_types.size());
  for (std::size_t i = 0; i < raw.samples.size(); ++i) {
    Status st = appendSample(raw.samples[i], i, *location_ids, out.locations.size(), strings, out);
    if (!st) return st.error();
  }
  return out;
}

}  // namespace

bool looksGzipped(std::string_view data) {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f && static_cast<unsigned char>(data[1]) == 0x8b;
}

Result<std::string> gunzipCapped(std::string_view gzipped, std::size_t max_decompressed_bytes) {
  if (!looksGzipped(gzipped)) return Error{"not gzip data (missing the 1f 8b magic bytes)"};
  z_stream zs{};
  // 16 + MAX_WBITS: gzip framing only; a zlib or raw deflate stream is refused like any non-gzip.
  int rc = inflateInit2(&zs, 16 + MAX_WBITS);
  if (rc != Z_OK) return Error{"gunzip: cannot initialise zlib: " + describeZlib(zs, rc)};
  struct Ender {
    z_stream* zs;
    ~Ender() { inflateEnd(zs); }
  } ender{&zs};

  std::string out;
  // One byte of room past the cap tells a body of exactly the cap from a larger one.
  const std::size_t hard_limit =
      max_decompressed_bytes == std::numeric_limits<std::size_t>::max() ? max_decompressed_bytes : max_decompressed_bytes + 1;
  // The gzip trailer holds the size of the last member mod 2^32: a good first guess, never trusted
  // beyond the cap.
  std::size_t isize = 0;
  if (gzipped.size() >= 18) {  // 10-byte header + 8-byte trailer at least
    const auto* tail = reinterpret_cast<const unsigned char*>(gzipped.data() + gzipped.size() - 4);
    isize = std::size_t{tail[0]} | std::size_t{tail[1]} << 8 | std::size_t{tail[2]} << 16 | std::size_t{tail[3]} << 24;
  }
  // Deflate cannot expand more than ~1032:1, so a forged ISIZE cannot make us allocate more than
  // the body could really inflate to.
  const std::size_t max_ratio_bytes = gzipped.size() * 1032 + 64 * 1024;
  std::size_t guess = std::min(std::max<std::size_t>({isize + 1, gzipped.size() * 4, 64 * 1024}), max_ratio_bytes);
  out.resize(std::min(guess, hard_limit));
  std::size_t produced = 0;
  std::size_t consumed = 0;
  bool member_done = false;

  while (true) {
    if (member_done) {
      // Another gzip member may follow (as `cat a.gz b.gz` makes); anything else is an error.
      if (consumed == gzipped.size()) break;
      if (!looksGzipped(gzipped.substr(consumed))) {
        return Error{"gunzip: " + std::to_string(gzipped.size() - consumed) + " bytes of trailing garbage after the gzip stream"};
      }
      rc = inflateReset(&zs);
      if (rc != Z_OK) return Error{"gunzip: " + describeZlib(zs, rc)};
      member_done = false;
    }
    if (produced == out.size()) {
      if (out.size() >= hard_limit) {
        return Error{"gunzip: decompressed size exceeds the cap of " + std::to_string(max_decompressed_bytes) +
                     " bytes (compressed body is " + std::to_string(gzipped.size()) + " bytes)"};
      }
      out.resize(std::min(out.size() * 2, hard_limit));
    }
    const std::size_t in_left = gzipped.size() - consumed;
    const std::size_t out_left = out.size() - produced;
    const uInt in_chunk = static_cast<uInt>(std::min<std::size_t>(in_left, UINT_MAX));
    const uInt out_chunk = static_cast<uInt>(std::min<std::size_t>(out_left, UINT_MAX));
    // zlib's API is not const-correct; it never writes through next_in.
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gzipped.data() + consumed));
    zs.avail_in = in_chunk;
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = out_chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    consumed += in_chunk - zs.avail_in;
    produced += out_chunk - zs.avail_out;
    if (rc == Z_STREAM_END) {
      member_done = true;
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR) {
      // No progress possible: either the output is full (grow and retry) or the input ran out.
      if (produced == out.size()) continue;
      return Error{"gunzip: truncated gzip stream (input ended after " + std::to_string(gzipped.size()) + " bytes, " +
                   std::to_string(produced) + " bytes decompressed)"};
    }
    return Error{"gunzip: corrupt gzip stream at input byte " + std::to_string(consumed) + ": " + describeZlib(zs, rc)};
  }
  if (produced > max_decompressed_bytes) {
    return Error{"gunzip: decompressed size exceeds the cap of " + std::to_string(max_decompressed_bytes) + " bytes"};
  }
  out.resize(produced);
  return out;
}

Result<HeapProfile> decodeProfile(std::string_view body, const PprofLimits& limits) {
  if (body.size() > limits.max_compressed_bytes) {
    return Error{"profile body is " + std::to_string(body.size()) + " bytes, over the cap of " +
                 std::to_string(limits.max_compressed_bytes) + " bytes"};
  }
  std::string inflated;
  std::string_view proto = body;
  if (looksGzipped(body)) {
    auto r = gunzipCapped(body, limits.max_decompressed_bytes);
    if (!r) return Error{"profile: " + r.error().message};
    inflated = std::move(r).value();
    proto = inflated;
  } else if (body.size() > limits.max_decompressed_bytes) {
    return Error{"profile body is " + std::to_string(body.size()) + " bytes, over the cap of " +
                 std::to_string(limits.max_decompressed_bytes) + " bytes"};
  }
  if (proto.size() > static_cast<std::size_t>(INT_MAX)) {
    return Error{"profile is " + std::to_string(proto.size()) + " bytes, more than protobuf can parse"};
  }

  auto raw = scanProfile(proto);
  if (!raw)
    return Error{"profile: " + raw.error().message +
                 (looksGzipped(body) ? " (after gunzip)" : " (body is not gzip; read as a bare protobuf)")};
  auto converted = convert(*raw);
  if (!converted) return Error{"profile: " + converted.error().message};
  return converted;
}

Result<HeapProfile> readProfileFile(const std::string& path, const PprofLimits& limits) {
  auto body = readFile(path, limits.max_compressed_bytes);
  if (!body) return body.error();
  auto profile = decodeProfile(*body, limits);
  if (!profile) return Error{path + ": " + profile.error().message};
  return profile;
}

}  // namespace memstrain
