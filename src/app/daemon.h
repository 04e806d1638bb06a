#pragma once
// `climits-manager -c FILE`: run the programs of FILE in the foreground until SIGTERM/SIGINT.
#include <optional>
#include <string>
#include <vector>

#include "config/model.h"

namespace climits::app {

struct DaemonOptions {
  std::string config_path;
  std::optional<config::LogLevel> log_level;  // --log-level, over the file's
};

// What a reload did: the manager's result, or every configuration error (and nothing
// changed). For the SIGHUP log line and for `climits-ctl reload`.
struct ReloadOutcome {
  bool ok = false;
  std::vector<std::string> errors;  // configuration errors, or programs a change failed for
  std::string summary;              // "1 added, 0 removed, …" or "configuration not valid: …"
};

// Returns the process exit code: 0 after a clean shutdown, 1 for a configuration error,
// 2 for an environment error.
int run_daemon(const DaemonOptions& options);

}  // namespace climits::app
