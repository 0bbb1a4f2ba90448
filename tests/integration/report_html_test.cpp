// report.html and live progress, end to end: a real short run of the Go demo target (probe and
// pprof on, so every chart has data) under a pseudo-terminal (`script`), then the page rendered by
// headless Chromium: the DOM has every chart and table and the page script ran without errors, the
// screenshot is not blank, and the console is silent. A second pair of runs shows the non-TTY log
// form of progress and --quiet. Needs root, a cgroup memory controller, tests/target/bin/demo-target
// (make go), `script` (util-linux) and Debian's chromium (scripts/install-deps.sh installs it).

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "memstrain/cgroup/cgroup.hpp"

#include "support/run_fixture.hpp"

namespace memstrain {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

int shell(const std::string& cmd) {
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

bool haveTool(const std::string& name) { return shell("command -v " + name + " > /dev/null 2>&1") == 0; }

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

// The cgroup subtree, demo target and scratch directory: tests/support/run_fixture.hpp.
class ReportHtmlTest : public memstrain::testing::RunFixture {
 protected:
  ReportHtmlTest() : RunFixture("memstrain-html") {}

  fs::path writePlan(const std::string& name, const std::string& port, json stages, bool probe_and_pprof) {
    const std::string addr = "127.0.0.1:" + port;
    json target = {{"launch",
                    {{"command", {target_.string(), "-addr", addr, "-baseline-mib", "8"}},
                     {"memory_limit", "256MiB"},
                     {"ready_url", "http://" + addr + "/healthz"}}}};
    if (probe_and_pprof) {
      target["probe"] = {{"name", "work"}, {"url", "http://" + addr + "/work"}, {"rate_per_s", 20}, {"timeout", "2s"}};
      target["pprof_url"] = "http://" + addr + "/debug/pprof";
    }
    json plan = {
        {"name", name}, {"target", target}, {"sampling", {{"interval", "100ms"}, {"pprof_interval", "500ms"}}}, {"stages", stages}};
    const fs::path p = dir_ / (name + ".json");
    std::ofstream(p) << plan.dump(2);
    return p;
  }

  std::string runCmd(const fs::path& plan, const fs::path& out, const std::string& extra = "") const {
    return std::string(MEMSTRAIN_BINARY) + " run " + plan.string() + " --out " + out.string() + " --cgroup-parent " + parent_ + extra;
  }
};

// Decodes an 8-bit RGB/RGBA PNG with zlib (python3's) and prints "distinct_colours non_white_fraction".
constexpr const char* kPngStats = R"PY(
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat, w, h, ctype = 8, b'', 0, 0, 0
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b'IHDR':
        w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
        assert depth == 8 and ctype in (2, 6), (depth, ctype)
    elif kind == b'IDAT':
        idat += body
    pos += 12 + n
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
colours, non_white = set(), 0
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp * 2):
        px = bytes(line[x:x + 3])
        colours.add(px)
        if px != b'\xff\xff\xff': non_white += 1
    prev = line
print(len(colours), non_white / max(1, (w * h) // 2), w, h)
)PY";

TEST_F(ReportHtmlTest, TtyProgressThenAReportChromiumRenders) {
  if (!haveTool("script")) GTEST_SKIP() << "`script` (util-linux) missing";
  const fs::path plan = writePlan("html-e2e", "16171",
                                  {{{"name", "baseline"}, {"duration", "2s"}},
                                   {{"name", "ramp"}, {"duration", "3s"}, {"pressure", {{"level", "60%"}, {"ramp", "2s"}}}},
                                   {{"name", "hold"}, {"duration", "2s"}, {"pressure", {{"level", "60%"}}}},
                                   {{"name", "release"}, {"duration", "2s"}}},
                                  true);
  const fs::path out = dir_ / "out";
  // `script` gives the run a pseudo-terminal and records what appeared on it.
  const fs::path typescript = dir_ / "tty.txt";
  const std::string cmd = "script -qec '" + runCmd(plan, out) + "' " + typescript.string() + " < /dev/null > /dev/null 2>&1";
  const int code = shell(cmd);
  const std::string tty = slurp(typescript);
  ASSERT_EQ(code, 0) << tty;

  // One line rewritten in place: carriage return, the line, erase to the end of the line.
  const std::regex line_re(
      "\r\\[([1-4])/4 ([a-z]+)\\] [0-9.]+/[0-9.]+s  run [0-9]+/9s  pressure [^\r]*usage [^\r]*\\(([0-9.]+)%\\)[^\r]*\x1b\\[K");
  std::set<std::string> stages_seen;
  std::size_t lines = 0;
  bool saw_p99 = false, saw_heap = false;
  for (auto it = std::sregex_iterator(tty.begin(), tty.end(), line_re); it != std::sregex_iterator(); ++it) {
    ++lines;
    stages_seen.insert((*it)[2]);
    const std::string whole = (*it)[0];
    saw_p99 = saw_p99 || whole.find(" p99 ") != std::string::npos;
    saw_heap = saw_heap || whole.find(" objects") != std::string::npos;
  }
  EXPECT_GE(lines, 6U) << tty;
  EXPECT_EQ(stages_seen, (std::set<std::string>{"baseline", "ramp", "hold", "release"})) << tty;
  EXPECT_TRUE(saw_p99) << tty;
  EXPECT_TRUE(saw_heap) << tty;
  // A log line erases the progress line before it is written; the summary follows a cleared line.
  EXPECT_NE(tty.find("\r\x1b[K\x1b["), std::string::npos);  // the erase, then the log level's colour
  EXPECT_NE(tty.find("memstrain: verdict=pass"), std::string::npos) << tty;

  // report.html was written by the run; `memstrain report` makes the same page from report.json.
  const fs::path html = out / "report.html";
  ASSERT_TRUE(fs::exists(html));
  const fs::path regen = dir_ / "regen.html";
  ASSERT_EQ(
      shell(std::string(MEMSTRAIN_BINARY) + " report " + (out / "report.json").string() + " --out " + regen.string() + " > /dev/null"), 0);
  EXPECT_EQ(slurp(regen), slurp(html));
  // Without samples.jsonl the page still comes out and says why there are no charts.
  fs::create_directories(dir_ / "alone");
  fs::copy_file(out / "report.json", dir_ / "alone/report.json");
  ASSERT_EQ(shell(std::string(MEMSTRAIN_BINARY) + " report " + (dir_ / "alone/report.json").string() + " > /dev/null 2> " +
                  (dir_ / "alone/err.txt").string()),
            0);
  EXPECT_NE(slurp(dir_ / "alone/err.txt").find("samples.jsonl"), std::string::npos);
  EXPECT_NE(slurp(dir_ / "alone/report.html").find("missing-samples"), std::string::npos);

  if (!haveTool("chromium")) GTEST_SKIP() << "chromium missing: scripts/install-deps.sh installs it (make test does)";
  const fs::path profile = dir_ / "chromium-profile";
  const std::string chromium =
      "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run "
      "--no-default-browser-check --user-data-dir=" +
      profile.string();
  const std::string url = "file://" + fs::absolute(html).string();
  ASSERT_EQ(shell(chromium + " --window-size=1280,1600 --enable-logging=stderr --v=0 --dump-dom " + url + " > " +
                  (dir_ / "dom.html").string() + " 2> " + (dir_ / "dom.err").string()),
            0)
      << slurp(dir_ / "dom.err");
  const std::string dom = slurp(dir_ / "dom.html");
  const std::string log = slurp(dir_ / "dom.err");
  for (const char* id : {"svg-cgroup", "svg-latency", "svg-heap", "svg-rss", "svg-gc"}) {
    EXPECT_NE(dom.find(std::string("<svg id=\"") + id + "\""), std::string::npos) << id;
  }
  for (const char* id : {"id=\"checks\"", "id=\"stages\"", "<table class=\"stages\"", "id=\"heap-growth\"", "id=\"release\"",
                         "id=\"events\"", "id=\"verdict\""}) {
    EXPECT_NE(dom.find(id), std::string::npos) << id;
  }
  EXPECT_EQ(count(dom, "class=\"stage-band "), 4U * 5U);  // four stages on five charts
  // The page script ran to its end and filled the read-outs; no script error was recorded.
  EXPECT_NE(dom.find("data-script=\"ok\""), std::string::npos);
  // (The hook that would set it names it in quotes 'like this'; the attribute would be data-js-error="...".)
  EXPECT_EQ(dom.find("data-js-error=\""), std::string::npos) << dom.substr(0, 400);
  EXPECT_GE(count(dom, "<div class=\"readout\" aria-live=\"polite\">t="), 5U);
  // At 1280 px no table scrolls sideways (the page script marks one that would: data-overflows).
  // (The attribute, with its value; the page script that sets it names it in quotes.)
  EXPECT_EQ(dom.find("data-overflows=\""), std::string::npos)
      << dom.substr(dom.find("data-overflows=\"") == std::string::npos ? 0 : dom.find("data-overflows=\""), 200);
  // Nothing on the console (script errors and CSP violations would be there).
  EXPECT_EQ(log.find("CONSOLE"), std::string::npos) << log;

  const fs::path png = dir_ / "report.png";
  ASSERT_EQ(shell(chromium + " --hide-scrollbars --window-size=1280,1600 --screenshot=" + png.string() + " " + url + " > /dev/null 2> " +
                  (dir_ / "shot.err").string()),
            0)
      << slurp(dir_ / "shot.err");
  ASSERT_TRUE(fs::exists(png)) << slurp(dir_ / "shot.err");
  std::ofstream(dir_ / "png_stats.py") << kPngStats;
  ASSERT_EQ(shell("python3 " + (dir_ / "png_stats.py").string() + " " + png.string() + " > " + (dir_ / "png.txt").string() + " 2>&1"), 0)
      << slurp(dir_ / "png.txt");
  std::istringstream stats(slurp(dir_ / "png.txt"));
  std::size_t colours = 0, w = 0, h = 0;
  double non_white = 0;
  stats >> colours >> non_white >> w >> h;
  EXPECT_EQ(w, 1280U);
  EXPECT_EQ(h, 1600U);
  // A rendered report has the badge, stage bands, series colours and text: many colours and a good
  // share of non-white pixels. A blank or failed page is one or two colours.
  EXPECT_GE(colours, 50U) << slurp(dir_ / "png.txt");
  EXPECT_GT(non_white, 0.08) << slurp(dir_ / "png.txt");
}

TEST_F(ReportHtmlTest, LogLinesWithoutATerminalAndNothingWithQuiet) {
  const json stages = {{{"name", "baseline"}, {"duration", "2s"}},
                       {{"name", "hold"}, {"duration", "5s"}, {"pressure", {{"level", "50%"}}}}};
  const fs::path plan = writePlan("html-log", "16172", stages, false);
  ASSERT_EQ(shell(runCmd(plan, dir_ / "out-log") + " > /dev/null 2> " + (dir_ / "log.txt").string()), 0) << slurp(dir_ / "log.txt");
  const std::string log = slurp(dir_ / "log.txt");
  EXPECT_EQ(log.find('\r'), std::string::npos);
  EXPECT_EQ(log.find("\x1b[K"), std::string::npos);
  // Every 5 s, as a timestamped log line: at the start and 5 s in.
  const std::regex line_re("\\S+ info \\[([12])/2 (baseline|hold)\\] [0-9.]+/[0-9.]+s  run [0-9]+/7s  pressure [^\n]*usage [^\n]*%\\)\n");
  std::size_t lines = 0;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), line_re); it != std::sregex_iterator(); ++it) ++lines;
  EXPECT_GE(lines, 2U) << log;
  EXPECT_LE(lines, 3U) << log;
  EXPECT_TRUE(fs::exists(dir_ / "out-log/report.html"));

  ASSERT_EQ(shell(runCmd(plan, dir_ / "out-quiet", " --quiet") + " > /dev/null 2> " + (dir_ / "quiet.txt").string()), 0)
      << slurp(dir_ / "quiet.txt");
  const std::string quiet = slurp(dir_ / "quiet.txt");
  EXPECT_EQ(quiet.find("/2 baseline]"), std::string::npos) << quiet;
  EXPECT_EQ(quiet.find("/2 hold]"), std::string::npos) << quiet;
  EXPECT_TRUE(fs::exists(dir_ / "out-quiet/report.html"));
}

}  // namespace
}  // namespace memstrain
