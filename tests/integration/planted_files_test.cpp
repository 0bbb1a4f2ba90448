// Issue 15, item 4: output files never follow a planted symlink. Real runs (a process in the run's
// cgroup, pprof against a healthy test target) with symlinks planted where memstrain writes:
// the output directory itself, report.json and metrics.prom, profiles/, target.log, and the
// node_exporter textfile; and directories others can write. Whatever a symlink points at stays
// as it was. Needs root and a cgroup memory controller.

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "support/hostile_target.hpp"
#include "support/run_fixture.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::HostileEndpoint;
using testing::HostileTarget;
using testing::slurp;

class PlantedFilesTest : public memstrain::testing::RunFixture {
 protected:
  PlantedFilesTest() : RunFixture("memstrain-planted") {}

  void SetUp() override {
    RunFixture::SetUp();
    if (IsSkipped()) return;
    victim_ = dir_ / "victim";
    std::ofstream(victim_) << "precious\n";
    fs::create_directories(dir_ / "victim-dir");
  }

  fs::path plan(const std::string& name) const {
    json p = {
        {"name", name},
        {"target",
         {{"launch", {{"command", {"/bin/sleep", "600"}}, {"memory_limit", "256MiB"}, {"ready_url", t_.url(HostileEndpoint::kReady)}}},
          {"pprof_url", t_.pprofUrl()}}},
        {"sampling", {{"interval", "100ms"}, {"pprof_interval", "250ms"}}},
        {"stages", {{{"name", "baseline"}, {"duration", "500ms"}}, {{"name", "hold"}, {"duration", "500ms"}}}}};
    return writePlan(name, p);
  }

  // Everything a planted symlink could have reached is as it was.
  void expectVictimsUntouched() const {
    EXPECT_EQ(slurp(victim_), "precious\n");
    EXPECT_TRUE(fs::is_empty(dir_ / "victim-dir")) << "something was written through a symlink into victim-dir";
  }

  HostileTarget t_;
  fs::path victim_;
};

TEST_F(PlantedFilesTest, AnOutputDirectoryThatIsASymlinkOrWritableByAllIsRefused) {
  fs::create_directory_symlink(dir_ / "victim-dir", dir_ / "out-link");
  EXPECT_EQ(run(plan("link"), dir_ / "out-link", "link.log"), 2) << slurp(dir_ / "link.log");
  EXPECT_NE(slurp(dir_ / "link.log").find("is a symlink or not a directory"), std::string::npos) << slurp(dir_ / "link.log");
  fs::create_directory(dir_ / "out-open");
  fs::permissions(dir_ / "out-open", fs::perms::all);
  EXPECT_EQ(run(plan("open"), dir_ / "out-open", "open.log"), 2) << slurp(dir_ / "open.log");
  EXPECT_NE(slurp(dir_ / "open.log").find("is writable by every user"), std::string::npos) << slurp(dir_ / "open.log");
  EXPECT_TRUE(fs::is_empty(dir_ / "out-open"));
  expectVictimsUntouched();
}

TEST_F(PlantedFilesTest, SymlinksPlantedInTheOutputDirectoryAreReplacedOrRefusedNeverFollowed) {
  const fs::path out = dir_ / "out";
  fs::create_directory(out);
  fs::create_symlink(victim_, out / "report.json");
  fs::create_symlink(victim_, out / "metrics.prom");
  fs::create_directory_symlink(dir_ / "victim-dir", out / "profiles");
  const int code = run(plan("planted"), out, "planted.log");
  EXPECT_EQ(code, 0) << slurp(dir_ / "planted.log");
  EXPECT_FALSE(fs::is_symlink(out / "report.json"));
  EXPECT_FALSE(fs::is_symlink(out / "metrics.prom"));
  const json r = json::parse(slurp(out / "report.json"));
  // The heap profiles could not be saved: each failure is in the report, none went through.
  EXPECT_GT(r["pprof"]["errors"].get<int>(), 0);
  EXPECT_TRUE(r["pprof"]["profiles"].empty()) << r["pprof"].dump();
  EXPECT_NE(slurp(out / "samples.jsonl").find("is a symlink or not a directory"), std::string::npos);
  expectNothingLeft(r);
  expectVictimsUntouched();
}

TEST_F(PlantedFilesTest, ASamplesFileThatIsASymlinkStopsTheRunBeforeAnythingStarts) {
  const fs::path out = dir_ / "out";
  fs::create_directory(out);
  fs::create_symlink(victim_, out / "samples.jsonl");
  EXPECT_EQ(run(plan("samples"), out, "samples.log"), 3) << slurp(dir_ / "samples.log");
  const json r = json::parse(slurp(out / "report.json"));
  EXPECT_NE(r["run"]["error"].get<std::string>().find("samples.jsonl is a symlink"), std::string::npos) << r["run"]["error"];
  expectNothingLeft(r);
  expectVictimsUntouched();
}

TEST_F(PlantedFilesTest, ALogThatIsASymlinkStopsTheRunBeforeTheTargetStarts) {
  const fs::path out = dir_ / "out";
  fs::create_directory(out);
  fs::create_symlink(victim_, out / "target.log");
  EXPECT_EQ(run(plan("log"), out, "log.log"), 3) << slurp(dir_ / "log.log");
  const json r = json::parse(slurp(out / "report.json"));
  EXPECT_NE(r["run"]["error"].get<std::string>().find("target.log is a symlink"), std::string::npos) << r["run"]["error"];
  expectNothingLeft(r);
  expectVictimsUntouched();
}

TEST_F(PlantedFilesTest, TheTextfileIsReplacedNotFollowedAndAnOpenDirectoryIsRefused) {
  const fs::path textfiles = dir_ / "textfile-collector";
  fs::create_directory(textfiles);
  fs::create_symlink(victim_, textfiles / "memstrain_textfile.prom");
  const fs::path out = dir_ / "out";
  EXPECT_EQ(run(plan("textfile"), out, "textfile.log", "", "--textfile-dir " + textfiles.string()), 0) << slurp(dir_ / "textfile.log");
  EXPECT_FALSE(fs::is_symlink(textfiles / "memstrain_textfile.prom"));
  EXPECT_EQ(slurp(textfiles / "memstrain_textfile.prom"), slurp(out / "metrics.prom"));
  // Only the file itself is there: no temporary left beside it.
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(textfiles)) files += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 1u);
  // node_exporter's directory may belong to its own user; writable by everyone, it is refused.
  fs::permissions(textfiles, fs::perms::all);
  EXPECT_EQ(run(plan("textfile"), dir_ / "out2", "textfile2.log", "", "--textfile-dir " + textfiles.string()), 2)
      << slurp(dir_ / "textfile2.log");
  EXPECT_NE(slurp(dir_ / "textfile2.log").find("--textfile-dir: " + textfiles.string() + " is writable by every user"), std::string::npos)
      << slurp(dir_ / "textfile2.log");
  expectVictimsUntouched();
}

}  // namespace
}  // namespace memstrain
