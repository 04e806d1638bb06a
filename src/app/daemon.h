#pragma once
// `climits-manager -c FILE`: run the programs of FILE in the foreground until SIGTERM/SIGINT.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/layout.h"
#include "config/model.h"

namespace climits::app {

struct DaemonOptions {
  std::string config_path;
  std::optional<config::LogLevel> log_level;  // --log-level, over the file's
};

// How many file descriptors the manager holds for `config` on a host with cgroup `version`,
// counted from the code: a fixed part for itself and the control socket, and per program what
// the cgroup layer (cgroup::descriptors_per_program), its runner, output files and current run
// keep open (see daemon.cc). The start-up check, reloads and --check use it.
std::size_t estimate_descriptors(const config::Config& config, cgroup::Version version);
// "raise it: LimitNOFILE=… in the unit …, or ulimit -n …": the fix, for `needed` descriptors.
std::string descriptor_advice(std::size_t needed);

// Returns the process exit code: 0 after a clean shutdown, 1 for a configuration error,
// 2 for an environment error.
int run_daemon(const DaemonOptions& options);

}  // namespace climits::app
