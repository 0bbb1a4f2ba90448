#include "memstrain/cli/logging.hpp"

#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <sstream>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "memstrain/util/text.hpp"

namespace memstrain {
namespace {

LogFormat g_format = LogFormat::kText;

// RFC 3339 in UTC with milliseconds: 2024-05-01T10:00:00.123Z.
std::string utcTime(long long time_ms) {
  const std::time_t t = static_cast<std::time_t>(time_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(time_ms % 1000));
  return out;
}

void appendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out += c;  // UTF-8 passes through; invalid bytes are the message's own
        }
    }
  }
  out += '"';
}

std::string_view levelName(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warning";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "off";
  }
}

long long unixMs(spdlog::log_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// JSON lines: the whole record is ours to escape, which a pattern with %v could not do.
class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line = jsonLogLine(unixMs(msg.time), levelName(msg.level), std::string_view(msg.payload.data(), msg.payload.size()));
    line += '\n';
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

std::optional<spdlog::level::level_enum> levelByName(std::string_view name) {
  std::string n(trim(name));
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "trace") return spdlog::level::trace;
  if (n == "debug") return spdlog::level::debug;
  if (n == "info") return spdlog::level::info;
  if (n == "warn" || n == "warning") return spdlog::level::warn;
  if (n == "err" || n == "error") return spdlog::level::err;
  if (n == "critical") return spdlog::level::critical;
  if (n == "off") return spdlog::level::off;
  return std::nullopt;
}

}  // namespace

Result<LogFormat> parseLogFormat(std::string_view text) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  return Error{"--log-format must be text or json, got \"" + std::string(text) + "\""};
}

std::optional<spdlog::level::level_enum> levelFromSpdlogEnv(std::string_view value) {
  std::optional<spdlog::level::level_enum> bare, ours;
  std::size_t i = 0;
  while (i <= value.size()) {
    std::size_t j = value.find(',', i);
    if (j == std::string_view::npos) j = value.size();
    const std::string_view entry = trim(value.substr(i, j - i));
    i = j + 1;
    if (entry.empty()) continue;
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) {
      auto l = levelByName(entry);
      if (!l) return std::nullopt;
      bare = l;
    } else {
      auto l = levelByName(entry.substr(eq + 1));
      if (!l) return std::nullopt;
      if (trim(entry.substr(0, eq)) == "memstrain") ours = l;
    }
  }
  return ours ? ours : bare;
}

std::string jsonLogLine(long long time_ms, std::string_view level, std::string_view msg) {
  std::string out = "{\"time\":\"" + utcTime(time_ms) + "\",\"level\":";
  appendJsonString(out, level);
  out += ",\"msg\":";
  appendJsonString(out, msg);
  out += '}';
  return out;
}

void setupLogging(const LogSetup& setup) {
  g_format = setup.format;
  // The logger named "memstrain" is reconfigured when it exists (a test may have put one with its
  // own sink there), else made on stderr.
  auto logger = spdlog::get("memstrain");
  if (!logger) logger = spdlog::stderr_color_mt("memstrain", spdlog::color_mode::automatic);
  if (setup.format == LogFormat::kJson) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    // The level is coloured on a terminal; "Z": the time is UTC.
    const std::string pattern = "%^%Y-%m-%dT%H:%M:%S.%eZ %l%$ %v";
    logger->set_pattern(setup.erase_progress_line ? "\r\x1b[K" + pattern : pattern, spdlog::pattern_time_type::utc);
  }
  spdlog::set_default_logger(logger);
  spdlog::level::level_enum level = spdlog::level::info;
  std::string env_problem;
  if (const char* env = std::getenv("SPDLOG_LEVEL"); env != nullptr && *env != '\0') {
    if (auto l = levelFromSpdlogEnv(env))
      level = *l;
    else
      env_problem = env;
  }
  if (setup.verbose) level = spdlog::level::debug;
  if (setup.quiet) level = spdlog::level::warn;
  logger->set_level(level);
  if (!env_problem.empty()) {
    static bool warned = false;
    if (!warned) spdlog::warn("SPDLOG_LEVEL=\"{}\" names no level (trace, debug, info, warn, error, critical, off); ignored", env_problem);
    warned = true;
  }
}

LogFormat currentLogFormat() { return g_format; }

void logPlanProblems(const std::string& path, const std::string& message_lines) {
  std::istringstream lines(message_lines);
  for (std::string line; std::getline(lines, line);) {
    if (g_format == LogFormat::kText) {
      // Not through the logger's pattern: "FILE: POINTER: MESSAGE" is what editors and CI
      // problem matchers read. A line that is already written is written whole, then flushed.
      std::fprintf(stderr, "%s\n", line.c_str());
      continue;
    }
    std::string_view rest = line;
    const std::string prefix = path + ": ";
    if (rest.substr(0, prefix.size()) == prefix) rest.remove_prefix(prefix.size());
    std::string pointer;
    if (!rest.empty() && rest.front() == '/') {
      const auto colon = rest.find(": ");
      if (colon != std::string_view::npos) {
        pointer = std::string(rest.substr(0, colon));
        rest.remove_prefix(colon + 2);
      }
    }
    std::string record = jsonLogLine(unixMs(spdlog::log_clock::now()), "error", rest);
    record.pop_back();  // add the fields before the closing brace
    record += ",\"file\":";
    appendJsonString(record, path);
    if (!pointer.empty()) {
      record += ",\"pointer\":";
      appendJsonString(record, pointer);
    }
    record += "}\n";
    std::fputs(record.c_str(), stderr);
  }
  std::fflush(stderr);
}

}  // namespace memstrain
