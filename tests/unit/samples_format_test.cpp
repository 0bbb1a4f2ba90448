// samples.jsonl's one reader (decodeSampleLine) against its one set of writers: what a run writes
// reads back field for field, and a line from another version or a killed run reads as absent
// fields or a bad line, never as a throw.

#include <gtest/gtest.h>

#include <string>

#include "memstrain/model/samples_format.hpp"

namespace memstrain {
namespace {

CgroupSample cgroup(std::uint64_t usage, double psi_some) {
  CgroupSample c;
  c.usage_bytes = usage;
  c.limit_bytes = 512ull << 20;
  c.stat.file_bytes = 7 << 20;
  c.pressure = Psi{};
  c.pressure->some.avg10 = psi_some;
  c.pressure->full = PsiLine{};
  c.pressure->full->avg10 = psi_some / 2;
  return c;
}

template <typename T>
T decodeAs(const nlohmann::json& j) {
  const auto line = decodeSampleLine(j.dump());
  EXPECT_TRUE(line.has_value()) << j.dump();
  if (!line) return T{};
  const T* typed = std::get_if<T>(&*line);
  EXPECT_NE(typed, nullptr) << "decoded as alternative " << line->index() << ": " << j.dump();
  return typed ? *typed : T{};
}

TEST(SamplesFormatTest, AnInsideCgroupSampleReadsBackFieldForField) {
  Sample s;
  s.t_s = 12.25;
  s.target_cgroup = cgroup(300ull << 20, 4.5);
  s.effective_limit_bytes = 512ull << 20;
  s.setpoint_bytes = 400ull << 20;
  s.stressor_target_bytes = 250ull << 20;
  s.stressor_populated_bytes = 240ull << 20;
  s.target_process = ProcessMemory{};
  s.target_process->rss_bytes = 60ull << 20;
  s.target_process->lazyfree_bytes = 3ull << 20;

  const CgroupLine c = decodeAs<CgroupLine>(sampleToJson(s, "hold"));
  EXPECT_EQ(c.t_s, 12.25);
  EXPECT_EQ(c.measured_usage_bytes, double(300ull << 20));
  EXPECT_EQ(c.target_usage_bytes, double(300ull << 20));
  EXPECT_EQ(c.effective_limit_bytes, double(512ull << 20));
  EXPECT_EQ(c.setpoint_bytes, double(400ull << 20));
  EXPECT_EQ(c.stressor_populated_bytes, double(240ull << 20));
  EXPECT_EQ(c.target_file_bytes, double(7 << 20));
  EXPECT_EQ(c.target_rss_bytes, double(60ull << 20));
  EXPECT_EQ(c.target_lazyfree_bytes, double(3ull << 20));
  EXPECT_EQ(c.psi_some_avg10, 4.5);
  EXPECT_EQ(c.psi_full_avg10, 2.25);
  EXPECT_FALSE(c.has_stressor_cgroup);
}

TEST(SamplesFormatTest, BesideMeasuresTheParentAndTakesItsPressure) {
  Sample s;
  s.t_s = 1;
  s.target_cgroup = cgroup(100ull << 20, 1.0);
  s.measured_cgroup = cgroup(420ull << 20, 30.0);
  s.stressor_cgroup = cgroup(320ull << 20, 0.0);
  // Unlimited limit and no setpoint are written as null / left out: both read as absent.
  const CgroupLine c = decodeAs<CgroupLine>(sampleToJson(s, "hold"));
  EXPECT_EQ(c.measured_usage_bytes, double(420ull << 20));
  EXPECT_EQ(c.target_usage_bytes, double(100ull << 20));
  EXPECT_EQ(c.psi_some_avg10, 30.0);
  EXPECT_TRUE(c.has_stressor_cgroup);
  EXPECT_FALSE(c.effective_limit_bytes.has_value());
  EXPECT_FALSE(c.setpoint_bytes.has_value());
  EXPECT_FALSE(c.target_rss_bytes.has_value());
}

TEST(SamplesFormatTest, PprofKindsReadBack) {
  MemStatsSample m;
  m.t_s = 3.5;
  m.stats.heap_objects = 123456;
  m.stats.heap_inuse_bytes = 8 << 20;
  m.stats.heap_released_bytes = 2 << 20;
  m.stats.num_gc = 42;
  m.stats.pause_total_ns = 987654321;
  m.stats.gc_cpu_fraction = 0.0625;
  m.stats.last_gc_unix_ns = 1764000000123456789ull;
  const MemstatsLine ms = decodeAs<MemstatsLine>(memStatsToJson(m, "ramp"));
  EXPECT_EQ(ms.t_s, 3.5);
  EXPECT_EQ(ms.heap_objects, 123456.0);
  EXPECT_EQ(ms.heap_inuse_bytes, double(8 << 20));
  EXPECT_EQ(ms.heap_released_bytes, double(2 << 20));
  EXPECT_EQ(ms.num_gc, 42u);
  EXPECT_EQ(ms.pause_total_ns, 987654321u);
  EXPECT_EQ(ms.gc_cpu_fraction, 0.0625);
  EXPECT_EQ(ms.last_gc_unix_ns, 1764000000123456789ull);  // exact: read as an integer, not a double

  LiveHeapReading r;
  r.t_s = 4;
  r.kind = "interval";
  r.objects = 5000;
  r.bytes = 640000;
  const LiveHeapLine live = decodeAs<LiveHeapLine>(liveHeapToJson(r, "hold"));
  EXPECT_EQ(live.t_s, 4.0);
  EXPECT_EQ(live.objects, 5000.0);
  EXPECT_EQ(live.bytes, 640000.0);

  const PprofErrorLine err = decodeAs<PprofErrorLine>(pprofFailureToJson(PprofFailure{6.5, 0, "heap", "http", "500"}, "hold"));
  EXPECT_EQ(err.t_s, 6.5);
}

TEST(SamplesFormatTest, ALatencyWindowReadsBack) {
  ProbeWindow w;
  w.completed = 100;
  w.ok = 97;
  for (int i = 0; i < 100; ++i) w.corrected.record(std::uint64_t(i + 1) * 1'000'000);
  const LatencyLine l = decodeAs<LatencyLine>(latencyWindowToJson(w, "api", 9.0, "hold"));
  EXPECT_EQ(l.t_s, 9.0);
  EXPECT_EQ(l.probe, "api");
  EXPECT_EQ(l.completed, 100.0);
  ASSERT_TRUE(l.p50_ms && l.p99_ms);
  EXPECT_NEAR(*l.p50_ms, 50, 1);  // the histogram's buckets, not exact values
  EXPECT_NEAR(*l.p99_ms, 99, 2);
}

TEST(SamplesFormatTest, BadLinesAreNulloptAndUnknownKindsAndBlanksAreOther) {
  for (const char* bad : {"{\"kind\":\"cgroup\",\"t\":1.5,\"target_cg", "not json", "[1,2]", "{\"t\":1}", "{\"kind\":7}", "\xff\xfe"})
    EXPECT_FALSE(decodeSampleLine(bad).has_value()) << bad;
  for (const char* other : {"", "  \r", "{\"kind\":\"gc_trace\",\"t\":1}"}) {
    const auto line = decodeSampleLine(other);
    ASSERT_TRUE(line.has_value()) << other;
    EXPECT_TRUE(std::holds_alternative<OtherLine>(*line)) << other;
  }
}

TEST(SamplesFormatTest, WrongTypesReadAsAbsentAndNeverThrow) {
  const auto line =
      decodeSampleLine(R"({"kind":"cgroup","t":"soon","measured_usage_bytes":-5,"stressor":7,"target_cgroup":{"usage_bytes":[1]},)"
                       R"("measured_cgroup":"parent","target_process":null})");
  ASSERT_TRUE(line.has_value());
  const CgroupLine* c = std::get_if<CgroupLine>(&*line);
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->t_s.has_value());
  EXPECT_EQ(c->measured_usage_bytes, -5.0);  // a number is a number; readers judge its sign
  EXPECT_FALSE(c->stressor_populated_bytes.has_value());
  EXPECT_FALSE(c->target_usage_bytes.has_value());
  EXPECT_FALSE(c->target_rss_bytes.has_value());
  EXPECT_FALSE(c->psi_some_avg10.has_value());

  const auto m = decodeSampleLine(R"({"kind":"memstats","num_gc":-1,"pause_total_ns":2.9,"last_gc_unix_ns":"x"})");
  ASSERT_TRUE(m && std::holds_alternative<MemstatsLine>(*m));
  EXPECT_FALSE(std::get<MemstatsLine>(*m).num_gc.has_value());
  EXPECT_EQ(std::get<MemstatsLine>(*m).pause_total_ns, 2u);  // truncated, as json_read::u64 reads floats
  EXPECT_FALSE(std::get<MemstatsLine>(*m).last_gc_unix_ns.has_value());
}

}  // namespace
}  // namespace memstrain
