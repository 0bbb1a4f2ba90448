#pragma once
// The one logging path of every command: spdlog's default logger "memstrain" on stderr, UTC
// timestamps with their zone, as text for people or JSON lines for log pipelines (`kubectl logs`,
// Loki, jq). Results go to stdout; everything said about the work goes here.

#include <optional>
#include <string>
#include <string_view>

#include <spdlog/common.h>

#include "memstrain/util/result.hpp"

namespace memstrain {

enum class LogFormat {
  kText,  ///< "2024-05-01T10:00:00.123Z info message"
  kJson,  ///< {"time":"2024-05-01T10:00:00.123Z","level":"info","msg":"message"}
};

/// Parses `--log-format`'s value: "text" or "json".
Result<LogFormat> parseLogFormat(std::string_view text);

/// The level SPDLOG_LEVEL sets for memstrain's logger, read as spdlog documents it: a level
/// ("debug"), or comma-separated entries where "memstrain=LEVEL" wins over a bare one
/// ("warn,memstrain=debug"). Level names: trace, debug, info, warn/warning, err/error, critical,
/// off. Returns nullopt when it names no level for memstrain or a name is unknown (spdlog itself
/// would read an unknown name as "off" and silence everything).
std::optional<spdlog::level::level_enum> levelFromSpdlogEnv(std::string_view value);

struct LogSetup {
  LogFormat format = LogFormat::kText;
  bool verbose = false;  ///< -v: debug, over SPDLOG_LEVEL
  bool quiet = false;    ///< -q: warnings and errors only, over SPDLOG_LEVEL
  /// Text on a terminal with a progress line: each log line first erases the line it redraws.
  bool erase_progress_line = false;
};

/// (Re)makes the default logger from `setup` and the SPDLOG_LEVEL environment variable (default
/// level info; -v and -q override the variable). A malformed SPDLOG_LEVEL is warned about once and
/// ignored. Safe to call again when a command has parsed its options.
void setupLogging(const LogSetup& setup);

/// The format in force (text until a command asks for JSON).
LogFormat currentLogFormat();

/// One log record as a JSON line without the newline: {"time":…,"level":…,"msg":…}. `time_ms` is
/// Unix time in milliseconds. Pure; setupLogging's JSON formatter writes the same.
std::string jsonLogLine(long long time_ms, std::string_view level, std::string_view msg);

/// Plan problems, compiler-style so that editors and CI annotations can jump to them: in text
/// format one line "FILE: POINTER: MESSAGE" each (no timestamp, as gcc prints "file:line: error");
/// in JSON format one error record each with "file" and "pointer" fields.
void logPlanProblems(const std::string& path, const std::string& message_lines);

}  // namespace memstrain
