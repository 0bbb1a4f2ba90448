// Decoding of pprof profiles: what a good profile turns into, and every kind of bad body the
// pprof endpoint or a saved file could hand us.

#include "memstrain/pprof/pprof_decode.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "profile.pb.h"
#include "support/gzip.hpp"
#include "support/profile_builder.hpp"

namespace memstrain {
namespace {

namespace pb = perftools::profiles;
using memstrain::testing::gzip;
using memstrain::testing::ProfileBuilder;
using ::testing::HasSubstr;

ProfileBuilder twoSampleProfile() {
  ProfileBuilder b;
  auto leak = b.loc({"main.leak"});
  auto main = b.loc({"main.main"});
  auto work = b.loc({"main.inner", "main.work"});  // main.inner inlined into main.work
  b.sample({leak, main}, {10, 640, 4, 256});
  b.sample({work, main}, {3, 300, 1, 100});
  return b;
}

TEST(PprofDecodeTest, DecodesGzippedHeapProfileIntoPlainStructs) {
  auto r = decodeProfile(twoSampleProfile().gz());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const HeapProfile& p = *r;
  ASSERT_EQ(p.sample_types.size(), 4u);
  EXPECT_EQ(p.sample_types[2].type, "inuse_objects");
  EXPECT_EQ(p.sample_types[3].unit, "bytes");
  ASSERT_EQ(p.samples.size(), 2u);
  EXPECT_EQ(std::vector<std::int64_t>(sampleValues(p, 0).begin(), sampleValues(p, 0).end()), (std::vector<std::int64_t>{10, 640, 4, 256}));
  auto stack = sampleStack(p, p.samples[1]);
  ASSERT_EQ(stack.size(), 2u);
  const ProfileLocation& leaf = p.locations[stack[0]];
  auto lines = locationLines(p, leaf);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(p.functions[lines[0].function_index].name, "main.inner");
  EXPECT_EQ(p.functions[lines[1].function_index].name, "main.work");
  EXPECT_EQ(p.functions[lines[1].function_index].filename, "main.go");
  ASSERT_NE(leaf.mapping_index, ProfileLocation::kNoMapping);
  EXPECT_EQ(p.mappings[leaf.mapping_index].filename, "/usr/bin/target");
}

TEST(PprofDecodeTest, AcceptsAnUncompressedBody) {
  auto r = decodeProfile(twoSampleProfile().bytes());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->samples.size(), 2u);
}

TEST(PprofDecodeTest, AcceptsSparseIdsAndUnpackedRepeatedFields) {
  ProfileBuilder b = twoSampleProfile();
  // Ids need not be 1..n; renumber locations to 100, 200, 300 and point samples at them.
  for (int i = 0; i < b.p.location_size(); ++i) b.p.mutable_location(i)->set_id(100u * (i + 1));
  for (int i = 0; i < b.p.sample_size(); ++i) {
    auto* s = b.p.mutable_sample(i);
    for (int j = 0; j < s->location_id_size(); ++j) s->set_location_id(j, s->location_id(j) * 100);
  }
  auto r = decodeProfile(b.bytes());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->locations[r->sample_locations[0]].id, 100u);

  // A sample with location_id and value written unpacked (wire type 0), as older writers do:
  // field 1 varint 1, field 2 varints 1 2 3 4.
  std::string raw = b.bytes();
  std::string sample = std::string("\x08\x64\x10\x01\x10\x02\x10\x03\x10\x04", 10);
  raw += std::string("\x12") + static_cast<char>(sample.size()) + sample;
  auto r2 = decodeProfile(raw);
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  ASSERT_EQ(r2->samples.size(), 3u);
  EXPECT_EQ(sampleValues(*r2, 2)[3], 4);
}

TEST(PprofDecodeTest, RejectsNonGzipGarbage) {
  auto r = decodeProfile("<html><body>404 page not found</body></html>");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("not a valid pprof protobuf"));
  EXPECT_THAT(r.error().message, HasSubstr("not gzip"));
}

TEST(PprofDecodeTest, RejectsTruncatedGzip) {
  std::string gz = twoSampleProfile().gz();
  auto r = decodeProfile(gz.substr(0, gz.size() / 2));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("truncated gzip"));
}

TEST(PprofDecodeTest, RejectsCorruptGzip) {
  std::string gz = twoSampleProfile().gz();
  for (std::size_t i = 12; i < gz.size() - 8; ++i) gz[i] = static_cast<char>(gz[i] ^ 0x5a);
  auto r = decodeProfile(gz);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("gzip"));
}

TEST(PprofDecodeTest, GzipBombStopsAtTheDecompressedCap) {
  const std::string zeros(64u << 20, '\0');  // 64 MiB of zeros compress to ~64 KiB
  const std::string bomb = gzip(zeros);
  ASSERT_LT(bomb.size(), 1u << 20);
  PprofLimits limits;
  limits.max_decompressed_bytes = 8u << 20;
  auto r = decodeProfile(bomb, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("exceeds the cap of 8388608 bytes"));

  auto direct = gunzipCapped(bomb, 8u << 20);
  ASSERT_FALSE(direct.ok());
  // At exactly the size, it passes.
  auto exact = gunzipCapped(gzip(std::string(4096, 'a')), 4096);
  ASSERT_TRUE(exact.ok()) << exact.error().message;
  EXPECT_EQ(exact->size(), 4096u);
  EXPECT_FALSE(gunzipCapped(gzip(std::string(4097, 'a')), 4096).ok());
}

TEST(PprofDecodeTest, CompressedCapIsEnforced) {
  PprofLimits limits;
  limits.max_compressed_bytes = 16;
  auto r = decodeProfile(twoSampleProfile().gz(), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("over the cap of 16 bytes"));
}

TEST(PprofDecodeTest, AcceptsConcatenatedGzipMembersAndRejectsTrailingGarbage) {
  auto a = gunzipCapped(gzip("hello ") + gzip("world"), 1024);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(*a, "hello world");
  auto b = gunzipCapped(gzip("hello") + "junk", 1024);
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.error().message, HasSubstr("trailing garbage"));
}

TEST(PprofDecodeTest, RejectsValidGzipOfGarbageProtobuf) {
  // 0xff... is a varint that never ends; then an invalid wire type.
  auto r = decodeProfile(gzip(std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x0f", 12)));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("not a valid pprof protobuf"));
  EXPECT_THAT(r.error().message, HasSubstr("after gunzip"));
  // A length-delimited sample claiming more bytes than there are.
  auto r2 = decodeProfile(gzip(std::string("\x12\x7f\x08\x01", 4)));
  ASSERT_FALSE(r2.ok());
  EXPECT_THAT(r2.error().message, HasSubstr("not a valid pprof protobuf"));
}

TEST(PprofDecodeTest, RejectsMissingEmptyStringAtIndexZero) {
  ProfileBuilder b = twoSampleProfile();
  b.p.set_string_table(0, "oops");
  auto r = decodeProfile(b.gz());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("string_table[0] must be \"\""));

  pb::Profile empty;
  auto r2 = decodeProfile(empty.SerializeAsString());
  ASSERT_FALSE(r2.ok());
  EXPECT_THAT(r2.error().message, HasSubstr("empty string table"));
}

TEST(PprofDecodeTest, RejectsOutOfRangeStringIndexWithContext) {
  ProfileBuilder b = twoSampleProfile();
  b.p.mutable_function(1)->set_name(9999);
  auto r = decodeProfile(b.gz());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("string index 9999 out of range"));
  EXPECT_THAT(r.error().message, HasSubstr("function #1 (id 2) name"));

  ProfileBuilder neg = twoSampleProfile();
  neg.p.mutable_sample_type(0)->set_unit(-1);
  auto r2 = decodeProfile(neg.gz());
  ASSERT_FALSE(r2.ok());
  EXPECT_THAT(r2.error().message, HasSubstr("string index -1 out of range"));
  EXPECT_THAT(r2.error().message, HasSubstr("sample_type #0 unit"));

  ProfileBuilder label = twoSampleProfile();
  label.p.mutable_sample(1)->mutable_label(0)->set_key(77);
  auto r3 = decodeProfile(label.gz());
  ASSERT_FALSE(r3.ok());
  EXPECT_THAT(r3.error().message, HasSubstr("label key of sample #1"));

  ProfileBuilder def = twoSampleProfile();
  def.p.set_default_sample_type(1234);
  auto r4 = decodeProfile(def.gz());
  ASSERT_FALSE(r4.ok());
  EXPECT_THAT(r4.error().message, HasSubstr("default_sample_type"));
}

TEST(PprofDecodeTest, RejectsOutOfRangeLocationIdWithContext) {
  ProfileBuilder b = twoSampleProfile();
  b.p.mutable_sample(1)->set_location_id(1, 42);
  auto r = decodeProfile(b.gz());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("location id 42 not found"));
  EXPECT_THAT(r.error().message, HasSubstr("frame #1 of sample #1"));

  ProfileBuilder zero = twoSampleProfile();
  zero.p.mutable_sample(0)->set_location_id(0, 0);
  EXPECT_FALSE(decodeProfile(zero.gz()).ok());
}

TEST(PprofDecodeTest, RejectsOutOfRangeFunctionIdWithContext) {
  ProfileBuilder b = twoSampleProfile();
  b.p.mutable_location(2)->mutable_line(1)->set_function_id(77);
  auto r = decodeProfile(b.gz());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("function id 77 not found"));
  EXPECT_THAT(r.error().message, HasSubstr("line #1 of location #2 (id 3)"));
}

TEST(PprofDecodeTest, RejectsUnknownMappingAndDuplicateIds) {
  ProfileBuilder b = twoSampleProfile();
  b.p.mutable_location(0)->set_mapping_id(5);
  auto r = decodeProfile(b.gz());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("mapping id 5 not found"));

  ProfileBuilder dup = twoSampleProfile();
  dup.p.mutable_function(2)->set_id(1);
  auto r2 = decodeProfile(dup.gz());
  ASSERT_FALSE(r2.ok());
  EXPECT_THAT(r2.error().message, HasSubstr("repeats id 1"));
}

TEST(PprofDecodeTest, RejectsSampleWithWrongValueCount) {
  ProfileBuilder b = twoSampleProfile();
  b.p.mutable_sample(0)->add_value(1);
  auto r = decodeProfile(b.gz());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("sample #0 has 5 values but the profile has 4 sample types"));
}

TEST(PprofDecodeTest, ReadProfileFileNamesThePath) {
  auto r = readProfileFile("/nonexistent/heap.pb.gz");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("/nonexistent/heap.pb.gz"));
}

}  // namespace
}  // namespace memstrain
