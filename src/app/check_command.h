#pragma once
// `climits-manager --check`: validate the configuration and report what the manager would
// run on (like `nginx -t`).
#include <ostream>
#include <string>

namespace climits::app {

// Exit codes shared by the daemon's entry points.
inline constexpr int kExitOk = 0;
inline constexpr int kExitConfigError = 1;
inline constexpr int kExitEnvironmentError = 2;

// Prints every configuration error to `err`, or a summary to `out`; returns an exit code.
int run_check(const std::string& config_path, std::ostream& out, std::ostream& err);

}  // namespace climits::app
