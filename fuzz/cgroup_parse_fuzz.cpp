// libFuzzer target: every cgroup and /proc text parser over the same untrusted bytes. Besides
// "no crash, no UB", it checks a few properties that callers rely on.
//
//   clang++ -std=c++20 -g -fsanitize=fuzzer,address,undefined -Iinclude fuzz/cgroup_parse_fuzz.cpp \
//     src/cgroup/cgroup_parse.cpp src/proc/proc_memory.cpp src/util/{text,fs,result}.cpp -o cgroup_parse_fuzz

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "memstrain/cgroup/cgroup_parse.hpp"
#include "memstrain/proc/proc_memory.hpp"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace memstrain;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  for (auto v : {CgroupVersion::kV1, CgroupVersion::kV2}) {
    auto st = parseMemoryStat(text, v);
    if (st.ok() && v == CgroupVersion::kV1) check(!st->pglazyfree && !st->pglazyfreed);
  }
  (void)parseOomControlKills(text);
  CgroupSample sample;
  (void)parseMemoryEvents(text, sample);
  if (auto psi = parsePsi(text); psi.ok()) {
    check(psi->some.avg10 >= 0 && psi->some.avg60 >= 0 && psi->some.avg300 >= 0);
  }
  if (auto lim = parseLimit(text); lim.ok()) check(*lim < kUnlimitedThreshold || *lim == kUnlimited);
  if (auto pids = parsePidList(text); pids.ok()) {
    for (pid_t p : *pids) check(p > 0);
  }
  (void)listsController(text, "memory");
  if (auto entries = parseProcCgroup(text); entries.ok()) {
    for (const auto& e : *entries) check(e.hierarchy_id >= 0);
  }
  (void)parseCgroupMounts(text);
  if (auto rel = normalizeCgroupRel(text); rel.ok()) {
    // Canonical: absolute, no "..", no "//", and normalising again changes nothing.
    check(!rel->empty() && rel->front() == '/');
    check(rel->find("//") == std::string::npos);
    check(rel->find("/../") == std::string::npos && rel->find("/./") == std::string::npos);
    check(*rel == "/" || rel->back() != '/');
    auto again = normalizeCgroupRel(*rel);
    check(again.ok() && *again == *rel);
  }
  (void)parseSmapsRollup(text);
  (void)parseProcStatus(text);
  (void)parseMeminfo(text);
  return 0;
}
