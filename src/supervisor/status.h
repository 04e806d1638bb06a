#pragma once
// A snapshot of one program, as `climits-ctl status` shows it (docs/control-protocol.md,
// status). Filled in one place (ProgramRunner::status) and turned into JSON or a table in one
// place each.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/limits.h"
#include "config/model.h"
#include "supervisor/exit_history.h"
#include "supervisor/exit_info.h"
#include "supervisor/state.h"

namespace climits::supervisor {

struct ProgramStatus {
  std::string name;
  State state = State::stopped;
  std::optional<pid_t> pid;
  double uptime_seconds = 0;  // since the current process started; 0 without one
  std::uint64_t memory_bytes = 0;
  std::optional<std::uint64_t> memory_peak_bytes;
  config::ByteLimit memory_max_bytes;  // nullopt = unlimited
  int restarts = 0;
  std::uint64_t oom_kills = 0;
  std::optional<std::chrono::system_clock::time_point> last_oom_at;
  // CPU time of the cgroup (user + system) and time throttled by cpu.max, where the kernel
  // reports them (cgroup/backend.h, CpuUsage).
  std::optional<double> cpu_seconds;
  std::optional<double> cpu_throttled_seconds;
  std::uint64_t pressure_events = 0;  // memory.pressure crossings since the manager started
  std::optional<ExitInfo> last_exit;
  // A limit the kernel refused, what and why ("memory.max 128 MiB -> 16 MiB: …"); nullopt
  // when every limit is applied.
  std::optional<std::string> limits_pending;
  std::string cgroup;
  std::vector<std::string> waiting_for;  // waiting: the dependencies that do not hold yet
};

// One program in more depth, for `climits-ctl status NAME` (ProgramRunner::detail): what a
// status of every program leaves out so that it stays small.
struct ProgramDetail {
  ProgramStatus status;
  cgroup::Limits desired_limits;                 // what the configuration asks
  std::optional<cgroup::Limits> applied_limits;  // what the kernel last accepted; none yet
  config::OutputSettings stdout_output;
  config::OutputSettings stderr_output;
  std::vector<ExitRecord> history;  // newest first, at most ExitHistory::kKept
};

}  // namespace climits::supervisor
