#include "support/log_capture.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

namespace memstrain {

LogCapture::LogCapture()
    : out_(std::make_shared<std::ostringstream>()), previous_named_(spdlog::get("memstrain")), previous_default_(spdlog::default_logger()) {
  spdlog::drop("memstrain");
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*out_, /*force_flush=*/true);
  auto logger = std::make_shared<spdlog::logger>("memstrain", sink);
  logger->set_level(spdlog::level::trace);
  spdlog::register_logger(logger);
  spdlog::set_default_logger(logger);
}

// The capture's logger writes into out_, which dies with this object: nothing may keep it.
LogCapture::~LogCapture() {
  spdlog::set_default_logger(previous_default_);
  spdlog::drop("memstrain");
  if (previous_named_) spdlog::register_logger(previous_named_);
}

std::string LogCapture::text() const { return out_->str(); }

void LogCapture::clear() { out_->str(""); }

}  // namespace memstrain
