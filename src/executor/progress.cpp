#include "memstrain/executor/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

#include <spdlog/spdlog.h>

#include "memstrain/analysis/heap_stats.hpp"
#include "memstrain/util/json_read.hpp"
#include "memstrain/util/units.hpp"

namespace memstrain {
namespace {

using json_read::num;
using json_read::u64;

std::string withThousands(std::uint64_t v) {
  std::string digits = std::to_string(v), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

void applySampleToProgress(ProgressState& state, const nlohmann::json& sample) {
  if (!sample.is_object()) return;
  auto kind = sample.find("kind");
  if (kind == sample.end() || !kind->is_string()) return;
  const std::string& k = kind->get_ref<const std::string&>();
  if (k == "cgroup") {
    if (auto u = u64(sample, "measured_usage_bytes")) state.usage_bytes = u;
    state.limit_bytes = u64(sample, "effective_limit_bytes");
    auto st = sample.find("stressor");
    if (st != sample.end() && st->is_object()) state.pressure_bytes = u64(*st, "populated_bytes");
  } else if (k == "latency") {
    auto probe = sample.find("probe");
    auto completed = u64(sample, "completed");
    auto p99 = sample.find("p99_ms");
    if (probe == sample.end() || !probe->is_string() || !completed || *completed == 0 || p99 == sample.end() || !p99->is_number()) return;
    // The first probe stands for all: one number fits on the line.
    if (state.p99_probe.empty()) state.p99_probe = probe->get<std::string>();
    if (*probe != state.p99_probe) return;
    state.p99_ms = p99->get<double>();
  } else if (k == "memstats") {
    if (auto h = u64(sample, "heap_objects")) state.heap_objects = h;
    auto t = num(sample, "t");
    auto fraction = num(sample, "gc_cpu_fraction");
    if (!state.target_start_unix_ns || !t || !fraction) return;
    GoMemStats m;
    m.num_gc = u64(sample, "num_gc").value_or(0);
    m.gc_cpu_fraction = *fraction;
    m.last_gc_unix_ns = u64(sample, "last_gc_unix_ns");
    const auto cpu = gcCpuSeconds(m, *state.target_start_unix_ns);
    if (!cpu) return;
    const double now = *t;
    if (state.last_gc_cpu) {
      if (auto share = gcCpuShare(state.last_gc_cpu->first, state.last_gc_cpu->second, now, *cpu)) state.gc_cpu_share = share;
    }
    state.last_gc_cpu = std::make_pair(now, *cpu);
  }
}

std::string formatProgressLine(const ProgressState& s, std::size_t max_width) {
  const ProgressClock& c = s.clock;
  std::string stage;
  for (char ch : c.stage) stage += static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f ? '?' : ch;
  char buf[160];
  std::snprintf(buf, sizeof buf, "[%zu/%zu %s] %.1f/%.1fs  run %.0f/%.0fs", c.stage_index + 1, c.stage_count, stage.c_str(),
                c.stage_elapsed_s, c.stage_duration_s, c.run_elapsed_s, c.run_total_s);
  std::string line = buf;
  if (s.pressure_bytes) line += "  pressure " + formatBytes(*s.pressure_bytes);
  if (s.usage_bytes) {
    line += "  usage " + formatBytes(*s.usage_bytes);
    if (s.limit_bytes && *s.limit_bytes > 0) {
      std::snprintf(buf, sizeof buf, " / %s (%.1f%%)", formatBytes(*s.limit_bytes).c_str(),
                    100.0 * static_cast<double>(*s.usage_bytes) / static_cast<double>(*s.limit_bytes));
      line += buf;
    }
  }
  if (s.p99_ms) {
    std::snprintf(buf, sizeof buf, "  p99 %.*f ms", *s.p99_ms < 10 ? 2 : 1, *s.p99_ms);
    line += buf;
  }
  if (s.heap_objects) line += "  heap " + withThousands(*s.heap_objects) + " objects";
  if (s.gc_cpu_share) {
    std::snprintf(buf, sizeof buf, "  GC %.1f%% CPU", *s.gc_cpu_share * 100);
    line += buf;
  }
  if (max_width > 0 && line.size() > max_width) {
    // Cut on a character boundary (the stage name may be UTF-8).
    std::size_t cut = max_width;
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    line.resize(cut);
  }
  return line;
}

TextProgress::TextProgress(Options options) : options_(std::move(options)) {}

void TextProgress::observeSample(const nlohmann::json& sample) {
  std::lock_guard<std::mutex> lock(mu_);
  applySampleToProgress(state_, sample);
}

void TextProgress::targetStarted(std::int64_t unix_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  state_.target_start_unix_ns = unix_ns;
}

void TextProgress::tick(const ProgressClock& clock) {
  std::string out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_.clock = clock;
    const double every = std::chrono::duration<double>(options_.interval).count();
    if (clock.run_elapsed_s - last_emit_s_ < every) return;
    last_emit_s_ = clock.run_elapsed_s;
    if (options_.terminal) {
      // One column short of the width: some terminals wrap when the last column is written.
      out = "\r" + formatProgressLine(state_, options_.width > 1 ? options_.width - 1 : 0) + "\x1b[K";
      line_shown_ = true;
    } else {
      out = formatProgressLine(state_);
    }
  }
  if (options_.write) options_.write(out);
}

void TextProgress::finish() {
  bool clear = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    clear = options_.terminal && line_shown_;
    line_shown_ = false;
  }
  if (clear && options_.write) options_.write("\r\x1b[K");
}

bool stderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }

std::shared_ptr<ProgressSink> makeStderrProgress(std::chrono::milliseconds log_interval) {
  TextProgress::Options o;
  o.terminal = stderrIsTerminal();
  if (o.terminal) {
    winsize ws{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) o.width = ws.ws_col;
    o.write = [](std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stderr);
      std::fflush(stderr);
    };
  } else {
    o.interval = log_interval;
    o.write = [](std::string_view line) { spdlog::info("{}", line); };
  }
  return std::make_shared<TextProgress>(std::move(o));
}

}  // namespace memstrain
