// Cross-check against Go: `memstrain pprof top|diff` must report the same total and the same
// rows (names, flat, cum, order) as `go tool pprof -top` on profiles written by a real Go program
// (tests/goprof/bin/heapgen, built by tests/go-build.sh).

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "memstrain/cli/cmd_pprof.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;

const std::string kHeapgen = std::string(MEMSTRAIN_SOURCE_DIR) + "/tests/goprof/bin/heapgen";

struct Row {
  std::string name;
  std::int64_t flat = 0;
  std::int64_t cum = 0;
  bool operator==(const Row&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Row& r) { return os << r.name << " flat=" << r.flat << " cum=" << r.cum; }

struct Top {
  std::int64_t total = 0;
  std::vector<Row> rows;
};

// Runs a shell command and returns its stdout; `status` receives the exit status.
std::string run(const std::string& cmd, int* status) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) {
    *status = -1;
    return out;
  }
  std::array<char, 65536> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
  int rc = ::pclose(f);
  *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

bool haveGo() {
  int status = 0;
  run("command -v go >/dev/null 2>&1", &status);
  return status == 0;
}

// "12582912B", "-250", "0" -> integer. go tool pprof prints exact integers with -unit=B.
std::int64_t parseValue(const std::string& field) {
  std::string digits = field;
  if (!digits.empty() && digits.back() == 'B') digits.pop_back();
  std::size_t used = 0;
  std::int64_t v = std::stoll(digits, &used);
  EXPECT_EQ(used, digits.size()) << "unexpected value format: " << field;
  return v;
}

// Parses `go tool pprof -top -unit=B -nodefraction=0` output.
Top parseGoTop(const std::string& text) {
  Top top;
  std::istringstream in(text);
  std::string line;
  bool in_rows = false;
  while (std::getline(in, line)) {
    if (!in_rows) {
      const std::string marker = "Showing nodes accounting for ";
      if (line.rfind(marker, 0) == 0) {
        auto of = line.find(" of ");
        auto end = line.find(" total");
        if (of != std::string::npos && end != std::string::npos) top.total = parseValue(line.substr(of + 4, end - of - 4));
      }
      if (line.find("flat%") != std::string::npos && line.find("cum%") != std::string::npos) in_rows = true;
      continue;
    }
    std::istringstream fields(line);
    std::string flat, flat_pct, sum_pct, cum, cum_pct;
    if (!(fields >> flat >> flat_pct >> sum_pct >> cum >> cum_pct)) continue;
    std::string name;
    std::getline(fields, name);
    name.erase(0, name.find_first_not_of(' '));
    // pprof marks inlined functions; the name is what comes before the mark.
    for (const std::string suffix : {" (inline)", " (partial-inline)"}) {
      if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        name.resize(name.size() - suffix.size());
      }
    }
    top.rows.push_back(Row{name, parseValue(flat), parseValue(cum)});
  }
  return top;
}

Top goTop(const std::string& sample_index, const std::string& file, const std::string& base = "") {
  std::string cmd = "go tool pprof -top -nodefraction=0 -unit=B -sample_index=" + sample_index;
  if (!base.empty()) cmd += " -diff_base='" + base + "'";
  cmd += " '" + file + "' 2>/dev/null";
  int status = 0;
  std::string out = run(cmd, &status);
  EXPECT_EQ(status, 0) << cmd;
  return parseGoTop(out);
}

Top memstrainTop(const std::vector<std::string>& args) {
  std::ostringstream out;
  int rc = runPprofCommand(args, out);
  EXPECT_EQ(rc, 0) << "diagnostics are on stderr";
  Top top;
  if (rc != 0) return top;
  auto doc = nlohmann::json::parse(out.str());
  top.total = doc.at("total").get<std::int64_t>();
  for (const auto& r : doc.at("rows")) {
    top.rows.push_back(Row{r.at("name").get<std::string>(), r.at("flat").get<std::int64_t>(), r.at("cum").get<std::int64_t>()});
  }
  return top;
}

class PprofCrosscheckTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::access(kHeapgen.c_str(), X_OK) != 0 || !haveGo()) return;
    char tmpl[] = "/tmp/memstrain-pprof-xcheck-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return;
    dir_ = tmpl;
    for (const char* shape : {"small", "large"}) {
      int status = 0;
      std::string out = dir_ + "/" + shape + ".pb.gz";
      run("'" + kHeapgen + "' -shape " + shape + " -out '" + out + "' >/dev/null 2>&1", &status);
      if (status != 0) generation_error_ = "heapgen -shape " + std::string(shape) + " failed";
    }
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }
  void SetUp() override {
    if (::access(kHeapgen.c_str(), X_OK) != 0) {
      GTEST_SKIP() << kHeapgen << " is missing: run tests/go-build.sh (needs golang-go)";
    }
    if (!haveGo()) GTEST_SKIP() << "`go` is not on PATH (apt-get install golang-go): go tool pprof is the reference";
    ASSERT_FALSE(dir_.empty()) << "could not create a temp dir";
    ASSERT_TRUE(generation_error_.empty()) << generation_error_;
  }
  static std::string path(const char* shape) { return dir_ + "/" + shape + ".pb.gz"; }

  static void expectSame(const Top& go, const Top& ours) {
    ASSERT_FALSE(go.rows.empty()) << "could not parse go tool pprof output";
    EXPECT_EQ(ours.total, go.total);
    ASSERT_EQ(ours.rows.size(), go.rows.size());
    for (std::size_t i = 0; i < go.rows.size(); ++i) EXPECT_EQ(ours.rows[i], go.rows[i]) << "row " << i;
  }

  static inline std::string dir_;
  static inline std::string generation_error_;
};

struct Case {
  const char* shape;
  const char* sample_index;
};

class PprofTopCrosscheck : public PprofCrosscheckTest, public ::testing::WithParamInterface<Case> {};

TEST_P(PprofTopCrosscheck, TotalsAndEveryRowMatchGoToolPprof) {
  const Case c = GetParam();
  Top go = goTop(c.sample_index, path(c.shape));
  Top ours = memstrainTop({"top", path(c.shape), "--sample-index", c.sample_index, "--json", "-n", "0"});
  expectSame(go, ours);
  if (std::string(c.shape) == "large") {
    // The large shape exists to exercise many stacks; make sure it did.
    EXPECT_GT(ours.total, 100000);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, PprofTopCrosscheck,
                         ::testing::Values(Case{"small", "inuse_objects"}, Case{"small", "inuse_space"}, Case{"small", "alloc_objects"},
                                           Case{"small", "alloc_space"}, Case{"large", "inuse_objects"}, Case{"large", "inuse_space"}),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           return std::string(param_info.param.shape) + "_" + param_info.param.sample_index;
                         });

TEST_F(PprofCrosscheckTest, DiffMatchesGoToolPprofDiffBase) {
  for (const char* index : {"inuse_objects", "inuse_space"}) {
    SCOPED_TRACE(index);
    expectSame(goTop(index, path("large"), path("small")),
               memstrainTop({"diff", path("small"), path("large"), "--sample-index", index, "--json", "-n", "0"}));
    expectSame(goTop(index, path("small"), path("large")),
               memstrainTop({"diff", path("large"), path("small"), "--sample-index", index, "--json", "-n", "0"}));
  }
}

TEST_F(PprofCrosscheckTest, DefaultSampleIndexMatchesGo) {
  // Go's heap profile names no default type; both tools then use the last one (inuse_space).
  std::ostringstream out;
  ASSERT_EQ(runPprofCommand({"top", path("small"), "--json"}, out), 0);
  EXPECT_EQ(nlohmann::json::parse(out.str()).at("sample_type"), "inuse_space");
}

}  // namespace
}  // namespace memstrain
