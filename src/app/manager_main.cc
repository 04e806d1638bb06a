// climits-manager: the daemon's command line.
#include <CLI/CLI.hpp>
#include <iostream>

#include "app/check_command.h"
#include "app/daemon.h"
#include "app/logging.h"
#include "build_info.h"
#include "config/units.h"

int main(int argc, char** argv) {
  CLI::App cli{"climits-manager: run programs in memory-limited cgroups and keep them running"};
  cli.set_version_flag("--version", "climits-manager " CLIMITS_VERSION);
  std::string config_path = "/etc/climits-manager/programs.yaml";
  bool check_only = false;
  std::string log_level;
  cli.add_option("-c,--config", config_path, "Configuration file")->capture_default_str();
  cli.add_flag("--check", check_only,
               "Validate the configuration and the cgroup setup, print every error, and exit "
               "(0 = valid, 1 = invalid)");
  cli.add_option("--log-level", log_level, "Log level (overrides the file's manager.log_level)")
      ->check(CLI::IsMember(std::vector<std::string>(climits::config::kLogLevelNames.begin(),
                                                     climits::config::kLogLevelNames.end())));
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = cli.exit(e);
    return code == 0 ? 0 : climits::app::kExitConfigError;
  }
  if (check_only) return climits::app::run_check(config_path, std::cout, std::cerr);
  climits::app::DaemonOptions options{config_path, std::nullopt};
  if (!log_level.empty()) options.log_level = climits::config::parse_log_level(log_level);
  return climits::app::run_daemon(options);
}
