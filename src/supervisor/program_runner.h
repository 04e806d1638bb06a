#pragma once
// One program, alive: its cgroup, its current process, its timers and its OOM watcher, driven
// by the state table (state.h). Requests and what libuv reports become events; events are
// queued and dispatched one at a time, so an action that causes another event (a spawn that
// fails, a cgroup found empty at once) never re-enters the table. Every transition an operator
// can see is logged once with its cause.
//
// Desired and applied settings are kept apart (docs/supervision.md): `desired_` is what the
// configuration asks; `applied_` the limits the kernel last accepted. A limit the kernel
// refuses stays pending, reported in status and by every reload, and is tried again at each
// reload and at every start until it lands.
#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "cgroup/backend.h"
#include "cgroup/emptier.h"
#include "config/model.h"
#include "supervisor/events.h"
#include "supervisor/exit_info.h"
#include "supervisor/launcher.h"
#include "supervisor/output_drains.h"
#include "supervisor/output_log.h"
#include "supervisor/reload_plan.h"
#include "supervisor/restart_tracker.h"
#include "supervisor/state.h"
#include "supervisor/status.h"
#include "util/uv_handle.h"

namespace climits::supervisor {

struct RunnerContext {
  uv_loop_t* loop;
  cgroup::Backend& backend;
  ProcessLauncher& launcher;
  // Called after every transition, with the table's own states (the manager watches for
  // shutdown and removals; tests and service notification observe).
  std::function<void(const class ProgramRunner&, State from, State to)> on_transition;
  // Where output pipes are read (the manager's); null: output pipes are not expected.
  OutputDrains* drains = nullptr;
  // Where transitions and OOM kills are published (the manager's); null: nowhere.
  Events* events = nullptr;
};

// What a reload did to one program: each program lands in exactly one group.
struct Reconfigured {
  enum Group { unchanged, updated, restarted, failed } group = unchanged;
  std::string error;  // failed: why
};

class ProgramRunner {
 public:
  ProgramRunner(RunnerContext& context, config::Program desired);
  ~ProgramRunner();
  ProgramRunner(const ProgramRunner&) = delete;
  ProgramRunner& operator=(const ProgramRunner&) = delete;

  // Creates the cgroup, applies the limits and starts watching for OOM kills.
  Result<void> prepare();

  void start(const std::string& cause) { post(Event::start, cause); }
  // A start whose dependencies do not hold yet (the manager judges), and the word that they do.
  void wait_for_dependencies(const std::string& cause) { post(Event::wait, cause); }
  void dependencies_met(const std::string& cause) { post(Event::dependencies_met, cause); }
  void stop(const std::string& cause) { post(Event::stop, cause); }
  // Stops the current process if there is one, then starts again.
  void restart(const std::string& cause) { post(Event::restart, cause); }
  // Kills everything now (a second shutdown request): the program ends `stopped`.
  void kill_now(const std::string& cause) { post(Event::kill, cause); }

  // Takes the program's new desired settings from a reload; `changed` is what differs from
  // the old desired ones. A change in how it runs restarts a running program (its limits
  // are then written before the new start); limits are written to the live cgroup where they
  // differ from the applied ones, pending ones included; the rest is used from the next event.
  Reconfigured reconfigure(const config::Program& desired, Parts changed);

  // Opens every output file again (SIGUSR1, after logrotate moved them).
  void reopen_logs();

  // Empties and removes the cgroup, on the loop; only at rest (stopped, exited, fatal).
  void remove_cgroup(cgroup::Emptier::Done done);
  // Stops a removal under way (the program is wanted again); `done` is not called.
  void cancel_removal() {
    if (emptier_) emptier_->cancel();
  }

  // The table's own state; public_state() of it is what status shows.
  State state() const { return state_; }
  bool at_rest() const { return supervisor::at_rest(state_); }
  const config::Program& program() const { return desired_; }
  const std::optional<std::string>& limits_pending() const { return limits_pending_; }
  const std::optional<ExitInfo>& last_exit() const { return last_exit_; }
  ProgramStatus status() const;
  ProgramDetail detail() const;

  // Sends `signal` to the main process or, with `all_processes`, to every process in the
  // program's cgroup (a replacement staged at its gate excepted: it is not the program yet).
  // The pids signalled; an error when the program has no main process.
  Result<std::vector<pid_t>> send_signal(int signal, bool all_processes);

  // The open output files (kept across runs); null for a stream that does not go to a file
  // of its own (inherit, null, or stderr merged into stdout's file).
  const std::shared_ptr<LogFile>& stdout_log() const { return stdout_log_; }
  const std::shared_ptr<LogFile>& stderr_log() const { return stderr_log_; }
  // Replacements staged at an OOM kill, and runs that started from one (tests).
  int replacements_staged() const { return replacements_staged_; }
  int staged_runs() const { return staged_runs_; }

 private:
  void post(Event event, std::string cause);
  void dispatch();
  void handle(Event event, const std::string& cause);
  void log_transition(State to, Action action, const std::string& cause);
  void arm_timer(State from, State to);
  void on_timer();
  void perform(Action action, const std::string& cause);

  void spawn(const std::string& cause);
  void drain_output(const Launch& launched);
  void process_exited(int pid, std::int64_t exit_status, int term_signal);
  void on_exit(std::int64_t exit_status, int term_signal);
  void end_run(const std::string& cause);
  void empty_then(pid_t spare, Event verdict, const std::string& cause,
                  const std::string& verdict_text = "");
  void on_oom(std::uint64_t added);
  void log_unlogged_oom_kills(bool held);
  void stage_replacement();
  bool adopt_staged();
  void cancel_staged();
  void forget_staged();

  cgroup::Emptier& emptier();
  Timer& stage_timer();
  Timer& oom_log_timer();
  Result<void> apply_limits();
  void watch_pressure();
  void on_pressure();
  std::chrono::milliseconds now() const;
  void open_logs();

  RunnerContext& context_;
  config::Program desired_;
  std::optional<cgroup::Limits> applied_;  // what the kernel last accepted; none before
  std::optional<std::string> limits_pending_;

  State state_ = State::stopped;
  State shown_ = State::stopped;  // the public state of the last logged transition
  struct Queued {
    Event event;
    std::string cause;
  };
  std::vector<Queued> queue_;
  bool dispatching_ = false;

  RestartTracker tracker_;
  std::minstd_rand random_;

  int pid_ = 0;
  int last_pid_ = 0;  // of the last run; 0 when its launch failed and nothing ran
  std::chrono::milliseconds started_at_{0};  // monotonic, of the current process
  std::chrono::milliseconds run_length_{0};  // of the run that ended last
  std::uint64_t oom_baseline_ = 0;           // the cgroup's counter when it started
  std::uint64_t pids_baseline_ = 0;          // pids.events "max" when it started
  bool counters_at_zero_ = false;            // its cgroup is new and has run nothing yet
  std::chrono::milliseconds backoff_delay_{0};
  Timer timer_;  // settle, backoff or stop timeout: by state
  std::unique_ptr<cgroup::OomWatcher> oom_watcher_;
  // memory.pressure: the trigger armed (and its watch, none on v1 or when it failed).
  std::optional<cgroup::PressureTrigger> pressure_armed_;
  std::unique_ptr<cgroup::PressureWatch> pressure_watch_;
  std::uint64_t pressure_events_ = 0;
  std::unique_ptr<cgroup::Emptier> emptier_;  // emptier(): made at the first need

  // A replacement staged at an OOM kill: its helper has joined the cgroup and waits at its
  // gate while the kernel tears the victim down, so that with zero backoff the program
  // starts the moment the exit is handled, instead of a fork, an exec and a cgroup migration
  // later (bench/findings.md). Cancelled if anything but that restart follows.
  int staged_pid_ = 0;
  // stage_timer(): the main process outlived the OOM kill, so it was not the victim.
  std::unique_ptr<Timer> stage_timer_;
  int replacements_staged_ = 0;
  int staged_runs_ = 0;

  // Output files, kept across runs; null for streams that do not go to a file.
  std::shared_ptr<LogFile> stdout_log_, stderr_log_;

  int restarts_ = 0;
  std::uint64_t oom_kills_ = 0;
  std::optional<std::chrono::system_clock::time_point> last_oom_at_;
  // OOM kills are logged at most once per kOomLogInterval: the first at once, the ones after
  // it counted here and said in one line when the interval is over (oom_log_timer()).
  std::uint64_t oom_kills_unlogged_ = 0;
  std::chrono::milliseconds oom_logged_at_{-1000000};  // monotonic
  std::unique_ptr<Timer> oom_log_timer_;
  std::optional<ExitInfo> last_exit_;
  ExitHistory history_;  // last_exit_ and the runs before it
};

}  // namespace climits::supervisor
