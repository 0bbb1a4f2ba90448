#include "memstrain/executor/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

#include <spdlog/spdlog.h>

#include "memstrain/analysis/heap_stats.hpp"
#include "memstrain/model/samples_format.hpp"
#include "memstrain/util/units.hpp"

namespace memstrain {
namespace {

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
  const std::optional<SampleLine> line = decodeSample(sample);
  if (!line) return;
  if (const auto* c = std::get_if<CgroupLine>(&*line)) {
    if (c->measured_usage_bytes) state.usage_bytes = c->measured_usage_bytes;
    state.limit_bytes = c->effective_limit_bytes;
    state.pressure_bytes = c->stressor_populated_bytes;
  } else if (const auto* l = std::get_if<LatencyLine>(&*line)) {
    if (!l->probe || !l->completed || *l->completed == 0 || !l->p99_ms) return;
    // The first probe stands for all: one number fits on the line.
    if (state.p99_probe.empty()) state.p99_probe = *l->probe;
    if (*l->probe != state.p99_probe) return;
    state.p99_ms = l->p99_ms;
  } else if (const auto* m = std::get_if<MemstatsLine>(&*line)) {
    if (m->heap_objects) state.heap_objects = m->heap_objects;
    if (!state.target_start_unix_ns || !m->t_s || !m->gc_cpu_fraction) return;
    GoMemStats stats;
    stats.num_gc = m->num_gc.value_or(0);
    stats.gc_cpu_fraction = *m->gc_cpu_fraction;
    stats.last_gc_unix_ns = m->last_gc_unix_ns;
    const auto cpu = gcCpuSeconds(stats, *state.target_start_unix_ns);
    if (!cpu) return;
    const double now = *m->t_s;
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
