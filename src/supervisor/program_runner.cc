#include "supervisor/program_runner.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "config/units.h"
#include "util/text.h"

namespace climits::supervisor {

namespace {
std::string seconds_text(std::chrono::milliseconds ms) { return config::format_duration(ms); }

const char* restart_policy_name(config::RestartPolicy policy) {
  switch (policy) {
    case config::RestartPolicy::always: return "always";
    case config::RestartPolicy::on_failure: return "on-failure";
    case config::RestartPolicy::on_oom: return "on-oom";
    case config::RestartPolicy::never: return "never";
  }
  return "?";
}
// One random_device for every runner: constructing one probes the CPU (a VM exit under a
// hypervisor) or opens /dev/urandom, which a start of thousands would pay per program.
unsigned jitter_seed() {
  static std::random_device device;
  return device();
}
}  // namespace

ProgramRunner::ProgramRunner(RunnerContext& context, config::Program program)
    : context_(context),
      program_(std::move(program)),
      tracker_(program_.restart),
      random_(jitter_seed()) {
  timer_ = new uv_timer_t;
  uv_timer_init(context_.loop, timer_);
  timer_->data = this;
  stage_timer_ = new uv_timer_t;
  uv_timer_init(context_.loop, stage_timer_);
  stage_timer_->data = this;
}

ProgramRunner::~ProgramRunner() {
  cancel_staged("its program is gone");
  oom_watcher_.reset();
  for (uv_timer_t* timer : {timer_, stage_timer_}) {
    timer->data = nullptr;
    uv_timer_stop(timer);
    uv_close(reinterpret_cast<uv_handle_t*>(timer),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  }
  if (process_ != nullptr) {
    process_->data = nullptr;  // its exit will find no owner
    context_.launcher.forget(pid_);
  }
}

std::chrono::milliseconds ProgramRunner::now() const {
  return std::chrono::milliseconds(uv_now(context_.loop));
}

Result<void> ProgramRunner::prepare() {
  auto limits = cgroup::limits_of(program_);
  auto created = context_.backend.create(program_.name, limits);
  if (!created) return created.error();
  using Holds = cgroup::Backend::Holds;
  auto applied = context_.backend.apply(program_.name, limits,
                                        *created ? Holds::kernel_defaults : Holds::anything);
  if (!applied) return applied.error();
  for (const auto& warning : *applied) spdlog::warn("{}: {}", program_.name, warning);
  auto watcher = context_.backend.watch_oom(
      context_.loop, program_.name,
      [this](std::uint64_t total, std::uint64_t added) { on_oom(total, added); });
  if (!watcher) return watcher.error();
  oom_watcher_ = std::move(*watcher);
  // v1 warns before the victim is even picked: the earlier the replacement is staged, the
  // likelier its helper has joined the cgroup by the time the victim is gone.
  oom_watcher_->on_warning([this] { stage_replacement(); });
  counters_at_zero_ = *created;
  open_logs();
  return success();
}

void ProgramRunner::open_logs() {
  auto open = [this](const config::OutputSettings& out) -> std::shared_ptr<LogFile> {
    if (out.target != config::OutputTarget::file) return nullptr;
    return std::make_shared<LogFile>(program_.name, out.path, out.max_size, out.keep);
  };
  stdout_log_ = open(program_.stdout_output);
  stderr_log_ = open(program_.stderr_output);
}

void ProgramRunner::reopen_logs() {
  if (stdout_log_) stdout_log_->reopen();
  if (stderr_log_) stderr_log_->reopen();
}

void ProgramRunner::start(const std::string& cause) { handle(Event::start, cause); }

void ProgramRunner::stop(const std::string& cause) {
  cancel_staged("the program is being stopped");
  start_when_stopped_ = false;
  handle(Event::stop, cause);
}

void ProgramRunner::restart(const std::string& cause) {
  if (has_process(state_)) {
    stop(cause);
    start_when_stopped_ = true;  // after stop(), which clears it
  } else {
    start(cause);
  }
}

Result<void> ProgramRunner::update(const config::Program& program, bool runs_differently,
                                   bool limits_differ) {
  Result<void> outcome = success();
  config::Program next = program;
  if (limits_differ) {
    auto applied = context_.backend.apply(program.name, cgroup::limits_of(program),
                                          cgroup::Backend::Holds::anything);
    if (applied) {
      for (const auto& warning : *applied) spdlog::warn("{}: {}", program.name, warning);
      spdlog::info("{}: new cgroup limits applied to the live cgroup", program.name);
    } else {
      // The kernel kept the old limits (v1 refuses a max below usage): so do we.
      outcome = applied.error();
      next.memory = program_.memory;
      next.pids_max = program_.pids_max;
      (void)context_.backend.apply(program.name, cgroup::limits_of(program_),
                                   cgroup::Backend::Holds::anything);
    }
  }
  bool outputs_moved = runs_differently &&
                      (program_.stdout_output.path != next.stdout_output.path ||
                       program_.stdout_output.target != next.stdout_output.target ||
                       program_.stderr_output.path != next.stderr_output.path ||
                       program_.stderr_output.target != next.stderr_output.target);
  program_ = std::move(next);
  tracker_.update(program_.restart);
  if (outputs_moved) {
    open_logs();  // the next run writes to the new files
  } else {
    if (stdout_log_)
      stdout_log_->set_rotation(program_.stdout_output.max_size, program_.stdout_output.keep);
    if (stderr_log_)
      stderr_log_->set_rotation(program_.stderr_output.max_size, program_.stderr_output.keep);
  }
  if (runs_differently && has_process(state_)) restart("configuration changed");
  return outcome;
}

void ProgramRunner::kill_now(const std::string& cause) {
  cancel_staged("the program is being killed");
  if (state_ != State::stopping) handle(Event::stop, cause);
  if (state_ == State::stopping) handle(Event::stop_timeout, cause);
}

void ProgramRunner::handle(Event event, const std::string& cause) {
  auto next = transition(state_, event);
  if (!next) {
    spdlog::debug("{}: {} ignored in state {}", program_.name, event_name(event),
                  state_name(state_));
    return;
  }
  State previous = state_;
  state_ = next->next;
  if (previous != state_ || next->action == Action::kill_cgroup)
    spdlog::info("{}: {} -> {} ({})", program_.name, state_name(previous), state_name(state_),
                 cause);
  enter(state_);
  // Last: a failed spawn re-enters handle() with the exit it amounts to.
  perform(next->action);
  if (context_.on_transition) context_.on_transition(*this, previous, state_);
  if (state_ == State::stopped && start_when_stopped_) {
    start_when_stopped_ = false;
    handle(Event::start, "restart");
  }
}

// Each state that waits for time arms the one timer on entry.
void ProgramRunner::enter(State state) {
  uv_timer_stop(timer_);
  auto arm = [this](std::chrono::milliseconds delay) {
    // libuv counts a timeout from the loop's cached time, taken before this iteration's
    // callbacks ran: without the update, handling an exit (reaping, killing leftovers,
    // logging) would be taken off the backoff.
    uv_update_time(context_.loop);
    uv_timer_start(
        timer_,
        [](uv_timer_t* t) {
          if (t->data != nullptr) static_cast<ProgramRunner*>(t->data)->on_timer();
        },
        static_cast<std::uint64_t>(delay.count()), 0);
  };
  switch (state) {
    case State::starting: arm(program_.start_settle); break;
    case State::backoff: arm(backoff_delay_); break;
    case State::stopping: arm(program_.stop.timeout); break;
    default: break;
  }
}

void ProgramRunner::on_timer() {
  switch (state_) {
    case State::starting: handle(Event::settled, "alive after " + seconds_text(program_.start_settle)); break;
    case State::backoff: handle(Event::backoff_elapsed, "restart " + std::to_string(restarts_ + 1)); break;
    case State::stopping:
      handle(Event::stop_timeout, "still running " + seconds_text(program_.stop.timeout) +
                                      " after " + config::signal_name(program_.stop.signal) +
                                      ": killing its cgroup");
      break;
    default: break;
  }
}

void ProgramRunner::perform(Action action) {
  switch (action) {
    case Action::none: break;
    case Action::reset_and_spawn:
      tracker_.reset();
      spawn();
      break;
    case Action::spawn:
      ++restarts_;
      spawn();
      break;
    case Action::send_stop_signal:
      if (pid_ > 0 && ::kill(pid_, program_.stop.signal) != 0 && errno != ESRCH)
        spdlog::warn("{}: sending {} to {}: {}", program_.name,
                     config::signal_name(program_.stop.signal), pid_, std::strerror(errno));
      break;
    case Action::kill_cgroup:
      if (auto killed = context_.backend.kill_all(program_.name); !killed)
        spdlog::error("{}: killing its cgroup: {}", program_.name, killed.error().message);
      // libuv hears of exits through SIGCHLD messages on a pipe, and drops them when a flood
      // of signals (SIGHUP, SIGUSR1) has filled it: the exit of the process being stopped
      // may have been lost, and the stop would then wait forever. A SIGCHLD of our own makes
      // libuv look at every child again; it costs nothing when nothing was lost.
      ::kill(::getpid(), SIGCHLD);
      break;
  }
}

void ProgramRunner::spawn() {
  // A cgroup made for this program has counted nothing before its first run: two cgroup
  // reads fewer on the way to every first fork.
  if (counters_at_zero_) {
    oom_baseline_ = 0;
    pids_baseline_ = 0;
    counters_at_zero_ = false;
  } else {
    if (auto count = context_.backend.oom_kill_count(program_.name)) oom_baseline_ = *count;
    if (auto hits = context_.backend.pids_limit_hits(program_.name)) pids_baseline_ = *hits;
  }
  if (staged_.process != nullptr) {
    adopt_staged();
    return;
  }
  auto limits = cgroup::limits_of(program_);
  auto launched = context_.launcher.launch(
      program_, context_.backend.entry_files(program_.name, limits), &process_exited, this);
  started_at_ = now();
  if (!launched) {
    // Nothing ran: the same path as a helper that could not exec, and the same words in the
    // log ("spawn error: …") as in the status.
    pid_ = 0;
    auto info =
        classify_exit(127, 0, launched.error().message, 0, std::chrono::system_clock::now());
    finish_run(info, std::chrono::milliseconds(0), info.describe());
    return;
  }
  process_ = launched->process;
  pid_ = launched->pid;
  if (launched->stdout_pipe) drain_into(launched->stdout_pipe, stdout_log_);
  if (launched->stderr_pipe) drain_into(launched->stderr_pipe, stderr_log_);
  spdlog::debug("{}: started pid {}", program_.name, pid_);
}

void ProgramRunner::process_exited(uv_process_t* process, std::int64_t exit_status,
                                   int term_signal) {
  auto* self = static_cast<ProgramRunner*>(process->data);
  uv_close(reinterpret_cast<uv_handle_t*>(process),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_process_t*>(h); });
  if (self == nullptr) return;  // a runner that is gone, or a staged replacement cancelled
  if (process == self->staged_.process)
    self->staged_died();
  else
    self->on_exit(exit_status, term_signal);
}

void ProgramRunner::on_exit(std::int64_t exit_status, int term_signal) {
  process_ = nullptr;
  int pid = pid_;
  pid_ = 0;
  auto spawn_error = context_.launcher.take_spawn_error(pid);
  // Re-read the OOM counter now, so that an exit arriving before the OOM event is still
  // classified as an OOM kill.
  if (oom_watcher_) oom_watcher_->check_now();
  std::uint64_t oom_now = oom_baseline_;
  if (auto count = context_.backend.oom_kill_count(program_.name)) oom_now = *count;
  // One line per run, not one per refused fork: a fork bomb makes thousands a second.
  if (auto hits = context_.backend.pids_limit_hits(program_.name); hits && *hits > pids_baseline_)
    spdlog::warn("{}: its pids limit ({}) refused {} fork{} during this run", program_.name,
                 program_.pids_max ? std::to_string(*program_.pids_max) : "max",
                 *hits - pids_baseline_, *hits - pids_baseline_ == 1 ? "" : "s");
  // Daemonized children and workers die with the main process: no copy ever runs twice. A
  // staged replacement is spared: it has not exec'd, and is the next run or is cancelled.
  if (auto killed = context_.backend.kill_all_but(program_.name, staged_.pid); !killed)
    spdlog::error("{}: killing what is left in its cgroup: {}", program_.name,
                  killed.error().message);
  auto run_length = now() - started_at_;
  auto info = classify_exit(exit_status, term_signal, spawn_error, oom_now - oom_baseline_,
                            std::chrono::system_clock::now());
  finish_run(info, run_length,
             "pid " + std::to_string(pid) + " " + info.describe() + " after " +
                 seconds_text(run_length));
}

// The end of every run, spawned or not: the exit becomes the event the restart rules pick.
void ProgramRunner::finish_run(const ExitInfo& exit, std::chrono::milliseconds run_length,
                               const std::string& cause) {
  last_exit_ = exit;
  if (state_ == State::stopping) {
    cancel_staged("the program is being stopped");
    handle(Event::exit_done, cause);
    return;
  }
  auto decision = tracker_.after_exit(exit, run_length, now(),
                                      std::uniform_real_distribution<double>(0, 1)(random_));
  backoff_delay_ = decision.delay;
  if (decision.what != RestartTracker::Decision::restart || decision.delay.count() != 0)
    cancel_staged("no immediate restart follows");
  switch (decision.what) {
    case RestartTracker::Decision::restart:
      handle(Event::exit_restart, cause + "; restarting in " + seconds_text(decision.delay) +
                                      " (attempt " + std::to_string(decision.attempt) + ")");
      break;
    case RestartTracker::Decision::stay_down:
      handle(Event::exit_done, cause + "; the restart policy (" +
                                   restart_policy_name(program_.restart.policy) +
                                   ") leaves it down");
      break;
    case RestartTracker::Decision::give_up:
      handle(Event::exit_give_up,
             cause + "; more than " + std::to_string(program_.restart.limit.burst) +
                 " restarts within " + seconds_text(program_.restart.limit.interval) +
                 ": giving up until an operator starts it");
      break;
  }
}

void ProgramRunner::on_oom(std::uint64_t total, std::uint64_t added) {
  oom_kills_ += added;
  spdlog::warn("{}: the kernel OOM-killed {} process{} in its cgroup (limit {}; {} so far)",
               program_.name, added, added == 1 ? "" : "es",
               program_.memory.max ? format_bytes(*program_.memory.max) : "none", oom_kills_);
  (void)total;
  stage_replacement();
}

// How long a staged replacement waits for the main process to die. The kernel's teardown of
// an OOM victim takes milliseconds; a main process still alive after this was not the victim
// (or, on v1, reclaim averted the kill after the warning).
constexpr std::uint64_t kStageWindowMs = 1000;

void ProgramRunner::stage_replacement() {
  // Only where it pays and where the next step is certain enough: a main process runs, its
  // OOM kill would be restarted, and with zero backoff (with a backoff, a start made when it
  // ends is as good).
  if (process_ == nullptr || staged_.process != nullptr) return;
  if (state_ != State::running && state_ != State::starting) return;
  if (program_.restart.policy == config::RestartPolicy::never ||
      program_.restart.backoff.initial.count() != 0)
    return;
  auto launched = context_.launcher.launch(
      program_, context_.backend.entry_files(program_.name, cgroup::limits_of(program_)),
      &process_exited, this, Gate::held);
  if (!launched) {
    spdlog::debug("{}: no replacement staged: {}", program_.name, launched.error().message);
    return;
  }
  staged_ = Staged{launched->process, launched->pid, launched->gate_fd};
  // Its output goes where the next run's goes: it is the next run.
  if (launched->stdout_pipe) drain_into(launched->stdout_pipe, stdout_log_);
  if (launched->stderr_pipe) drain_into(launched->stderr_pipe, stderr_log_);
  uv_update_time(context_.loop);
  uv_timer_start(
      stage_timer_,
      [](uv_timer_t* t) {
        if (t->data != nullptr)
          static_cast<ProgramRunner*>(t->data)->cancel_staged(
              "its main process outlived the OOM kill");
      },
      kStageWindowMs, 0);
  spdlog::debug("{}: replacement staged as pid {} at the OOM kill", program_.name, staged_.pid);
}

void ProgramRunner::adopt_staged() {
  uv_timer_stop(stage_timer_);
  process_ = staged_.process;
  pid_ = staged_.pid;
  started_at_ = now();
  // One byte opens the gate. Should the helper be gone meanwhile, its exit comes next and is
  // handled as this run's.
  char go = 1;
  if (::write(staged_.gate_fd, &go, 1) != 1)
    spdlog::debug("{}: opening the gate of pid {}: {}", program_.name, pid_, std::strerror(errno));
  ::close(staged_.gate_fd);
  staged_ = Staged{};
  ++staged_runs_;
  spdlog::debug("{}: started pid {} (staged at the OOM kill)", program_.name, pid_);
}

void ProgramRunner::cancel_staged(const std::string& why) {
  if (staged_.process == nullptr) return;
  uv_timer_stop(stage_timer_);
  staged_.process->data = nullptr;  // its exit finds no owner and only frees the handle
  // Not reaped yet, so the pid is still its own. Waited for: it has joined the cgroup, and
  // the program's next state (stopped, say) must not be seen while it is still listed there.
  if (auto gone = kill_child_and_wait(staged_.pid, cgroup::kKillPatience); !gone)
    spdlog::error("{}: staged replacement: {}", program_.name, gone.error().message);
  ::close(staged_.gate_fd);
  context_.launcher.forget(staged_.pid);
  spdlog::debug("{}: staged replacement pid {} cancelled: {}", program_.name, staged_.pid, why);
  staged_ = Staged{};
}

// The staged helper died before it was needed (OOM-killed in its turn, or it failed a step):
// the restart, if one comes, starts a process the usual way.
void ProgramRunner::staged_died() {
  uv_timer_stop(stage_timer_);
  ::close(staged_.gate_fd);
  auto report = context_.launcher.take_spawn_error(staged_.pid);
  spdlog::debug("{}: staged replacement pid {} died before its turn{}{}", program_.name,
                staged_.pid, report ? ": " : "", report ? *report : "");
  staged_ = Staged{};
}

Result<void> ProgramRunner::remove_cgroup() {
  cancel_staged("its cgroup is being removed");
  oom_watcher_.reset();
  return context_.backend.remove(program_.name);
}

ProgramStatus ProgramRunner::status() const {
  ProgramStatus status;
  status.name = program_.name;
  status.state = state_;
  if (pid_ > 0) {
    status.pid = pid_;
    status.uptime_seconds = static_cast<double>((now() - started_at_).count()) / 1000.0;
  }
  if (auto usage = context_.backend.usage(program_.name)) {
    status.memory_bytes = usage->current;
    status.memory_peak_bytes = usage->peak;
    status.memory_max_bytes = usage->max;
  }
  status.restarts = restarts_;
  status.oom_kills = oom_kills_;
  status.last_exit = last_exit_;
  status.cgroup = context_.backend.path_of(program_.name);
  return status;
}

}  // namespace climits::supervisor
