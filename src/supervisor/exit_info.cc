#include "supervisor/exit_info.h"

#include <csignal>

#include "config/units.h"

namespace climits::supervisor {

const char* exit_kind_name(ExitKind kind) {
  switch (kind) {
    case ExitKind::exited:
      return "exited";
    case ExitKind::signal:
      return "signal";
    case ExitKind::oom_killed:
      return "oom-killed";
    case ExitKind::spawn_error:
      return "spawn-error";
  }
  return "?";
}

std::string ExitInfo::describe() const {
  switch (kind) {
    case ExitKind::exited:
      return "exited " + std::to_string(code);
    case ExitKind::signal:
      return "signal " + config::signal_name(signal);
    case ExitKind::oom_killed:
      return detail.empty() ? "oom-killed" : "oom-killed (" + detail + ")";
    case ExitKind::spawn_error:
      return "spawn error: " + detail;
  }
  return "?";
}

ExitInfo classify_exit(long exit_status, int term_signal,
                       const std::optional<std::string>& spawn_error,
                       std::uint64_t oom_kills_during_run, std::chrono::system_clock::time_point at,
                       bool any_oom_ends_run) {
  ExitInfo info;
  info.at = at;
  if (spawn_error) {
    info.kind = ExitKind::spawn_error;
    info.code = static_cast<int>(exit_status);
    info.detail = *spawn_error;
  } else if (term_signal == SIGKILL && oom_kills_during_run > 0) {
    // SIGKILL alone is not enough (an operator may kill -9), nor is the counter alone (the
    // kernel may have picked another process of the cgroup): both together are an OOM kill.
    info.kind = ExitKind::oom_killed;
    info.signal = SIGKILL;
  } else if (any_oom_ends_run && oom_kills_during_run > 0) {
    // Another process of the cgroup was the victim, and the OOM policy ended the run (or the
    // main process ended it by itself, as `stress-ng --oomable` does after a worker's kill).
    info.kind = ExitKind::oom_killed;
    info.signal = term_signal;
    info.code = static_cast<int>(exit_status);
    info.detail = "another process of its cgroup; the main process then " +
                  (term_signal != 0 ? "got signal " + config::signal_name(term_signal)
                                    : "exited " + std::to_string(exit_status));
  } else if (term_signal != 0) {
    info.kind = ExitKind::signal;
    info.signal = term_signal;
  } else {
    info.kind = ExitKind::exited;
    info.code = static_cast<int>(exit_status);
  }
  return info;
}

}  // namespace climits::supervisor
