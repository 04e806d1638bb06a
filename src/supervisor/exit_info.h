#pragma once
// How a run ended: exited(code), signal(SIG), oom-killed, or spawn-error. Pure.
#include <chrono>
#include <optional>
#include <string>

namespace climits::supervisor {

enum class ExitKind { exited, signal, oom_killed, spawn_error };

struct ExitInfo {
  ExitKind kind = ExitKind::exited;
  int code = 0;        // exit code (exited); 127 for spawn errors
  int signal = 0;      // terminating signal (signal, oom-killed)
  std::string detail;  // spawn errors: "./app: No such file or directory"; an OOM kill of
                       // another process: how the main process ended
  std::chrono::system_clock::time_point at;

  std::string describe() const;  // "exited 1", "signal SIGSEGV", "oom-killed", "spawn error: …"
};

const char* exit_kind_name(ExitKind kind);  // "exited", "signal", "oom-killed", "spawn-error"

// `spawn_error` is what the helper reported before exec, if anything; `oom_kills_during_run`
// is how much the cgroup's oom_kill counter grew since the process started. With
// `any_oom_ends_run` (oom_policy stop or kill), an OOM kill of any process of the cgroup
// during the run makes the run's end an OOM kill, however the main process ended.
ExitInfo classify_exit(long exit_status, int term_signal,
                       const std::optional<std::string>& spawn_error,
                       std::uint64_t oom_kills_during_run, std::chrono::system_clock::time_point at,
                       bool any_oom_ends_run = false);

}  // namespace climits::supervisor
