#pragma once
// `climits-manager -c FILE`: run the programs of FILE in the foreground until SIGTERM/SIGINT.
#include <optional>
#include <string>

#include "config/model.h"

namespace climits::app {

struct DaemonOptions {
  std::string config_path;
  std::optional<config::LogLevel> log_level;  // --log-level, over the file's
};

// Returns the process exit code: 0 after a clean shutdown, 1 for a configuration error,
// 2 for an environment error.
int run_daemon(const DaemonOptions& options);

}  // namespace climits::app
