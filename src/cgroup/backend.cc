#include "cgroup/backend.h"

#include <unistd.h>

#include <cerrno>
#include <csignal>

#include <algorithm>
#include <thread>

#include "cgroup/cgroup_files.h"
#include "cgroup/usage_files.h"
#include "util/file_io.h"
#include "util/text.h"

namespace climits::cgroup {

Backend::~Backend() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

namespace {
// 0.2 ms, growing to 5 ms: most processes are gone after the first SIGKILL.
void short_pause(int round) {
  std::this_thread::sleep_for(std::chrono::microseconds(std::min(200 * (round + 1), 5000)));
}
}  // namespace

Result<void> Backend::kill_all(const std::string& program) {
  auto deadline = std::chrono::steady_clock::now() + kKillPatience;
  for (int round = 0;; ++round) {
    auto listed = kill_pass(program, 0);
    if (!listed) return listed.error();
    if (*listed == 0) return success();
    if (std::chrono::steady_clock::now() >= deadline)
      return Error{EBUSY, std::to_string(*listed) + " process(es) still in " + path_of(program) +
                              " after SIGKILL (stuck in the kernel?)"};
    short_pause(round);
  }
}

Result<void> Backend::remove(const std::string& program) {
  if (auto killed = kill_all(program); !killed) return killed;
  auto deadline = std::chrono::steady_clock::now() + kKillPatience;
  for (int round = 0;; ++round) {
    auto removed = remove_empty(program);
    if (removed || removed.error().code != EBUSY || std::chrono::steady_clock::now() >= deadline)
      return removed;
    short_pause(round);
  }
}

Result<std::vector<pid_t>> Backend::signal_processes(const std::string& program, int signal,
                                                     pid_t spare) {
  auto listed = processes(program);
  if (!listed) return listed.error();
  std::vector<pid_t> signalled;
  for (pid_t pid : *listed) {
    if (pid == spare) continue;
    // A process that exited since the listing needs no signal any more: not an error.
    if (::kill(pid, signal) == 0)
      signalled.push_back(pid);
    else if (errno != ESRCH)
      return Error::from_errno(errno, "signal " + std::to_string(signal) + " to pid " +
                                          std::to_string(pid) + " in " + path_of(program));
  }
  return signalled;
}

Result<std::vector<std::string>> program_names_in(const std::string& root) {
  auto children = files::list_children(root, kProgramPrefix);
  if (!children) return children.error();
  std::vector<std::string> names;
  for (auto& child : *children)
    names.push_back(child.substr(std::string_view(kProgramPrefix).size()));
  return names;
}

std::string cgroup_dir_name(const std::string& program) {
  return kProgramPrefix + program;
}

std::size_t descriptors_per_program(Version version) {
  return (version == Version::v1 ? 1 : 0) + UsageFiles::descriptors();
}

Result<std::unique_ptr<PressureWatch>> Backend::watch_pressure(uv_loop_t*, const std::string&,
                                                               const PressureTrigger&,
                                                               std::function<void()>) {
  return Error{ENOTSUP, "memory.pressure is cgroup v2 only"};
}

std::vector<std::string> unavailable_settings(const Layout& layout, const Limits& limits) {
  std::vector<std::string> problems;
  struct Setting {
    const char* key;
    bool set;
    const std::optional<Hierarchy>* v1_hierarchy;
    const char* v1_file;
    const char* v2_controller;
  };
  const Setting settings[] = {
      {"cpu.max", limits.cpu.quota_micros.has_value(), &layout.cpu, "cpu.cfs_quota_us", "cpu"},
      {"cpu.weight", limits.cpu.weight.has_value(), &layout.cpu, "cpu.shares", "cpu"},
      {"io.weight", limits.io.weight.has_value(), &layout.blkio, "blkio.weight", "io"},
      {"io.max", !limits.io.devices.empty(), &layout.blkio, "blkio.throttle.read_bps_device", "io"},
  };
  for (const auto& setting : settings) {
    if (!setting.set) continue;
    std::string key = setting.key;
    if (layout.version == Version::v2) {
      auto controllers = read_file(layout.memory.mount + "/cgroup.controllers");
      bool offered = false;
      if (controllers)
        for (const auto& word : split_words(*controllers)) offered |= word == setting.v2_controller;
      if (!offered)
        problems.push_back(key + ": the kernel offers no " + setting.v2_controller +
                           " controller in " + layout.memory.mount + "; ignored");
      continue;
    }
    const auto& hierarchy = *setting.v1_hierarchy;
    if (!hierarchy) {
      problems.push_back(key + ": no cgroup v1 " +
                         (setting.v1_hierarchy == &layout.cpu ? "cpu" : "blkio") +
                         " hierarchy is mounted; ignored");
    } else if (!files::exists(hierarchy->mount + "/" + setting.v1_file)) {
      problems.push_back(key + ": this kernel has no " + setting.v1_file +
                         (key == "io.weight" ? " (it comes with the BFQ IO scheduler)" : "") +
                         "; ignored");
    }
  }
  return problems;
}

std::vector<IgnoredSetting> settings_ignored_on(Version version, const MemoryLimits& memory) {
  std::vector<IgnoredSetting> ignored;
  if (version == Version::v1 && memory.pressure)
    ignored.push_back({"memory.pressure", Version::v2,
                       "memory.pressure is cgroup v2 only (cgroup v1 has no pressure stall "
                       "information per cgroup), ignored"});
  if (version == Version::v2 && memory.swappiness)
    ignored.push_back({"memory.swappiness", Version::v1,
                       "memory.swappiness is cgroup v1 only; cgroup v2 has no per-cgroup "
                       "swappiness, ignored"});
  return ignored;
}

}  // namespace climits::cgroup
