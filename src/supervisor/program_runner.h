#pragma once
// One program, alive: its cgroup, its current process, its one timer and its OOM watcher,
// driven by the state table (state.h). Every transition is logged once with its cause.
// Callbacks from libuv are thin bridges into the methods here.
#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "cgroup/backend.h"
#include "config/model.h"
#include "supervisor/launcher.h"
#include "supervisor/output_log.h"
#include "supervisor/restart_tracker.h"
#include "supervisor/state.h"
#include "supervisor/status.h"

namespace climits::supervisor {

struct RunnerContext {
  uv_loop_t* loop;
  cgroup::Backend& backend;
  Launcher& launcher;
  // Called after every transition (the manager watches for shutdown; tests and service
  // notification observe).
  std::function<void(const class ProgramRunner&, State from, State to)> on_transition;
};

class ProgramRunner {
 public:
  ProgramRunner(RunnerContext& context, config::Program program);
  ~ProgramRunner();
  ProgramRunner(const ProgramRunner&) = delete;
  ProgramRunner& operator=(const ProgramRunner&) = delete;

  // Creates the cgroup, applies the limits and starts watching for OOM kills.
  Result<void> prepare();

  void start(const std::string& cause);
  void stop(const std::string& cause);
  // Stops the current process if there is one, then starts again.
  void restart(const std::string& cause);
  // Takes a program's new settings from a reload: limits go to the live cgroup at once (an
  // error keeps the old limits and is returned), a change in how it runs restarts a running
  // program, everything else is used from the next event on.
  Result<void> update(const config::Program& program, bool runs_differently, bool limits_differ);
  // Kills everything now (a second shutdown signal): the exit then lands in `stopped`.
  void kill_now(const std::string& cause);

  // Opens every output file again (SIGUSR1, after logrotate moved them).
  void reopen_logs();

  // Removes the cgroup; only when no process can be alive (stopped, exited, fatal).
  Result<void> remove_cgroup();

  State state() const { return state_; }
  bool at_rest() const { return !has_process(state_) && state_ != State::backoff; }
  const config::Program& program() const { return program_; }
  ProgramStatus status() const;
  // Runs that started from a replacement staged at an OOM kill (tests).
  int staged_runs() const { return staged_runs_; }

 private:
  void handle(Event event, const std::string& cause);
  void enter(State state);
  void perform(Action action);
  void spawn();
  void on_exit(std::int64_t exit_status, int term_signal);
  void finish_run(const ExitInfo& exit, std::chrono::milliseconds run_length,
                  const std::string& cause);
  void on_timer();
  void on_oom(std::uint64_t total, std::uint64_t added);
  // The exit callback of every process the runner starts, the staged one included.
  static void process_exited(uv_process_t* process, std::int64_t exit_status, int term_signal);
  void stage_replacement();
  void adopt_staged();
  void cancel_staged(const std::string& why);
  void staged_died();
  std::chrono::milliseconds now() const;
  void open_logs();

  RunnerContext& context_;
  config::Program program_;
  State state_ = State::stopped;
  RestartTracker tracker_;
  std::minstd_rand random_;

  uv_process_t* process_ = nullptr;
  int pid_ = 0;
  std::chrono::milliseconds started_at_{0};  // monotonic, of the current process
  std::uint64_t oom_baseline_ = 0;           // the cgroup's counter when it started
  std::uint64_t pids_baseline_ = 0;          // pids.events "max" when it started
  bool counters_at_zero_ = false;            // its cgroup is new and has run nothing yet
  uv_timer_t* timer_ = nullptr;              // settle, backoff or stop timeout: by state
  std::chrono::milliseconds backoff_delay_{0};
  std::unique_ptr<cgroup::OomWatcher> oom_watcher_;
  // A replacement staged at an OOM kill: its helper has joined the cgroup and waits at its
  // gate while the kernel tears the victim down, so that with zero backoff the program
  // starts the moment the exit is handled, instead of a fork, an exec and a cgroup migration
  // later (bench/findings.md). Cancelled if anything but that restart follows.
  struct Staged {
    uv_process_t* process = nullptr;
    int pid = 0;
    int gate_fd = -1;
  };
  Staged staged_;
  uv_timer_t* stage_timer_ = nullptr;  // cancels a staged replacement whose victim was not
                                       // the main process (the main lives on)
  int staged_runs_ = 0;
  // Output files, kept across runs; null for streams that do not go to a file.
  std::shared_ptr<LogFile> stdout_log_, stderr_log_;

  int restarts_ = 0;
  std::uint64_t oom_kills_ = 0;
  bool start_when_stopped_ = false;  // a restart in progress
  std::optional<ExitInfo> last_exit_;
};

}  // namespace climits::supervisor
