#pragma once
// The manager's own log: spdlog to stderr. Under systemd (JOURNAL_STREAM set) lines carry no
// timestamp, since journald adds its own, and a syslog priority prefix ("<4>") so that
// journald records the level. Program output never goes here.
#include <optional>

#include "config/model.h"

namespace climits::app {

void setup_logging(config::LogLevel level);
void set_log_level(config::LogLevel level);

}  // namespace climits::app
