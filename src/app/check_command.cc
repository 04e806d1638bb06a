#include "app/check_command.h"

#include <sys/resource.h>

#include "app/daemon.h"
#include "cgroup/backend.h"
#include "cgroup/layout.h"
#include "cgroup/placement.h"
#include "config/loader.h"
#include "supervisor/reload_plan.h"

namespace climits::app {

namespace {

// Says where programs would run. Problems here are warnings: the file can be valid on a
// machine that cannot run it (an editor, a CI job), and the daemon itself exits 2 for them.
// Returns the cgroup version found, for the descriptor estimate (v1 when none: the larger).
cgroup::Version report_cgroups(const config::Config& config, std::ostream& out, std::ostream& err) {
  auto layout = cgroup::detect_layout();
  if (!layout) {
    err << "warning: cgroups: " << layout.error().message << '\n';
    return cgroup::Version::v1;
  }
  out << "cgroups: " << layout->describe() << '\n';
  auto placement = cgroup::inspect_placement(*layout, config.manager.cgroup_root);
  out << "cgroups: programs would run in " << placement.root << '/'
      << cgroup::cgroup_dir_name("<name>") << (placement.writable ? " (writable)" : "") << '\n';
  if (!placement.writable) err << "warning: cgroups: " << placement.problem << '\n';
  for (const auto& program : config.programs) {
    const auto limits = supervisor::desired_limits(program);
    for (const auto& ignored : cgroup::settings_ignored_on(layout->version, limits.memory))
      err << "warning: programs." << program.name << '.' << ignored.key << ": cgroup "
          << cgroup::version_name(ignored.only_on) << " only; ignored on this host (cgroup "
          << cgroup::version_name(layout->version) << ")\n";
    for (const auto& problem : cgroup::unavailable_settings(*layout, limits))
      err << "warning: programs." << program.name << '.' << problem << '\n';
  }
  return layout->version;
}

// The daemon raises its soft open-file limit to the hard one and refuses to start when its
// estimate is above that: say so here, with this process's limits (under systemd,
// ExecStartPre runs with the service's).
void report_descriptors(const config::Config& config, cgroup::Version version, std::ostream& out,
                        std::ostream& err) {
  std::size_t needed = estimate_descriptors(config, version);
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  out << "file descriptors: about " << needed << " needed; the manager would have "
      << limit.rlim_max << " (its soft limit " << limit.rlim_cur << ", raised to the hard limit)\n";
  if (needed > limit.rlim_max)
    err << "warning: file descriptors: the manager would refuse to start with this file: about "
        << needed << " needed, more than the limit of " << limit.rlim_max << "; "
        << descriptor_advice(needed) << '\n';
}

}  // namespace

int run_check(const std::string& config_path, std::ostream& out, std::ostream& err) {
  auto loaded = config::load_config_file(config_path);
  for (const auto& error : loaded.errors) err << error.to_string() << '\n';
  if (!loaded.config) {
    err << config_path << ": " << loaded.errors.size()
        << (loaded.errors.size() == 1 ? " error" : " errors") << ", configuration not valid\n";
    return kExitConfigError;
  }
  const auto& programs = loaded.config->programs;
  out << config_path << ": configuration OK, " << programs.size()
      << (programs.size() == 1 ? " program" : " programs") << '\n';
  auto version = report_cgroups(*loaded.config, out, err);
  report_descriptors(*loaded.config, version, out, err);
  return kExitOk;
}

}  // namespace climits::app
