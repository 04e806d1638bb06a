#include "supervisor/program_runner.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>

#include "config/units.h"
#include "supervisor/daemonized.h"
#include "util/text.h"

namespace climits::supervisor {

namespace {
std::string seconds_text(std::chrono::milliseconds ms) {
  return config::format_duration(ms);
}

// One random_device for every runner: constructing one probes the CPU (a VM exit under a
// hypervisor) or opens /dev/urandom, which a start of thousands would pay per program.
unsigned jitter_seed() {
  static std::random_device device;
  return device();
}

// How long a staged replacement waits for the main process to die. The kernel's teardown of
// an OOM victim takes milliseconds; a main process still alive after this was not the victim
// (or, on v1, reclaim averted the kill after the warning).
constexpr std::chrono::milliseconds kStageWindow{1000};

// A main process that exited 0 while it settled and left processes behind has daemonized; the
// emptying that ends the run kills them, which without a word looks like a program that did
// nothing (daemonized.h). Listing the cgroup is one small file read; a cgroup that cannot be
// read only loses the hint.
void warn_if_daemonized(cgroup::Backend& backend, const config::Program& program, pid_t spare) {
  auto listed = backend.processes(program.name);
  if (!listed) return;
  std::size_t left = 0;
  for (pid_t pid : *listed)
    if (pid != spare) ++left;
  if (left > 0) spdlog::warn("{}", daemonized_warning(program, left));
}

// At most one OOM line per program per interval: a worker OOM-killed hundreds of times a
// second must not flood the log (docs/configuration.md, memory).
constexpr std::chrono::milliseconds kOomLogInterval{1000};
}  // namespace

ProgramRunner::ProgramRunner(RunnerContext& context, config::Program desired)
    : context_(context),
      desired_(std::move(desired)),
      tracker_(desired_.restart),
      random_(jitter_seed()),
      timer_(context.loop, [this] { on_timer(); }) {}

ProgramRunner::~ProgramRunner() {
  // Exits of processes still ours will find no one: the launcher reaps them quietly.
  if (pid_ > 0) context_.launcher.forget(pid_);
  if (staged_pid_ > 0) context_.launcher.forget(staged_pid_);
  // OOM kills held back for the once-a-second line are not lost at shutdown or removal.
  log_unlogged_oom_kills(true);
}

// Made at the first need: most programs run for long and never end a run, and the idle manager's
// memory is a figure it is held to (bench/, 500 programs).
cgroup::Emptier& ProgramRunner::emptier() {
  if (!emptier_)
    emptier_ = std::make_unique<cgroup::Emptier>(
        context_.loop, context_.backend, desired_.name, [this](std::size_t listed) {
          spdlog::warn(
              "{}: {} process{} still in its cgroup {} after SIGKILL (frozen, or stuck "
              "in the kernel: see /proc/PID/stat); still trying",
              desired_.name, listed, listed == 1 ? "" : "es", seconds_text(cgroup::kKillPatience));
        });
  return *emptier_;
}

Timer& ProgramRunner::stage_timer() {
  if (!stage_timer_)
    stage_timer_ = std::make_unique<Timer>(
        context_.loop, [this] { post(Event::stage_expired, "stage window over"); });
  return *stage_timer_;
}

Timer& ProgramRunner::oom_log_timer() {
  if (!oom_log_timer_)
    oom_log_timer_ =
        std::make_unique<Timer>(context_.loop, [this] { log_unlogged_oom_kills(true); });
  return *oom_log_timer_;
}

std::chrono::milliseconds ProgramRunner::now() const {
  return std::chrono::milliseconds(uv_now(context_.loop));
}

Result<void> ProgramRunner::prepare() {
  auto limits = desired_limits(desired_);
  auto created = context_.backend.create(desired_.name, limits);
  if (!created) return created.error();
  using Holds = cgroup::Backend::Holds;
  auto applied = context_.backend.apply(desired_.name, limits,
                                        *created ? Holds::kernel_defaults : Holds::anything);
  if (!applied) return applied.error();
  for (const auto& warning : *applied) spdlog::warn("{}: {}", desired_.name, warning);
  applied_ = limits;
  limits_pending_.reset();
  auto watcher = context_.backend.watch_oom(
      context_.loop, desired_.name, [this](std::uint64_t, std::uint64_t added) { on_oom(added); });
  if (!watcher) return watcher.error();
  oom_watcher_ = std::move(*watcher);
  // v1 warns before the victim is even picked: the earlier the replacement is staged, the
  // likelier its helper has joined the cgroup by the time the victim is gone.
  oom_watcher_->on_warning([this] { post(Event::oom_notice, "OOM warning"); });
  watch_pressure();
  counters_at_zero_ = *created;
  open_logs();
  return success();
}

void ProgramRunner::open_logs() {
  auto open = [this](const config::OutputSettings& out) -> std::shared_ptr<LogFile> {
    if (out.target != config::OutputTarget::file) return nullptr;
    return std::make_shared<LogFile>(desired_.name, out.path, out.max_size, out.keep);
  };
  stdout_log_ = open(desired_.stdout_output);
  stderr_log_ = open(desired_.stderr_output);
}

void ProgramRunner::reopen_logs() {
  if (stdout_log_) stdout_log_->reopen();
  if (stderr_log_) stderr_log_->reopen();
}

// ---------------------------------------------------------------------------------------------
// Desired and applied

Result<void> ProgramRunner::apply_limits() {
  // Not a write the kernel may refuse like a limit: the trigger follows at once.
  watch_pressure();
  auto wanted = desired_limits(desired_);
  if (applied_ && *applied_ == wanted) {
    limits_pending_.reset();
    return success();
  }
  auto applied = context_.backend.apply(desired_.name, wanted, cgroup::Backend::Holds::anything);
  std::string change = describe_change(applied_.value_or(cgroup::Limits{}), wanted);
  if (!applied) {
    // The kernel keeps what it had (v1 refuses a max below usage); the wish stays.
    limits_pending_ = change + ": " + applied.error().message;
    return applied.error();
  }
  for (const auto& warning : *applied) spdlog::warn("{}: {}", desired_.name, warning);
  if (applied_) spdlog::info("{}: {} (written to its cgroup)", desired_.name, change);
  applied_ = wanted;
  limits_pending_.reset();
  return success();
}

// The PSI trigger follows the configuration: armed, changed or taken away. On v1 there is
// none to arm (apply() warns of it, like every setting the version lacks).
void ProgramRunner::watch_pressure() {
  auto wanted = desired_limits(desired_).memory.pressure;
  if (wanted == pressure_armed_) return;
  pressure_watch_.reset();
  pressure_armed_ = wanted;
  if (!wanted || context_.backend.version() != cgroup::Version::v2) return;
  auto watch = context_.backend.watch_pressure(context_.loop, desired_.name, *wanted,
                                               [this] { on_pressure(); });
  if (!watch) {
    spdlog::warn("{}: memory.pressure is not watched: {}", desired_.name, watch.error().message);
    return;
  }
  pressure_watch_ = std::move(*watch);
}

// The kernel reports a crossing at most once per window: one warning each.
void ProgramRunner::on_pressure() {
  ++pressure_events_;
  // The trigger armed, which is what fired (the configuration may have moved on since).
  const auto& armed = *pressure_armed_;
  spdlog::warn(
      "{}: memory pressure: some of its tasks were stalled on memory for more than {}% "
      "of {} ({} so far)",
      desired_.name, armed.stall_micros * 100 / armed.window_micros,
      config::format_duration(config::Duration(armed.window_micros / 1000)), pressure_events_);
  if (context_.events && context_.events->has_listeners())
    context_.events->publish(MemoryPressure{desired_.name, pressure_events_});
}

Reconfigured ProgramRunner::reconfigure(const config::Program& desired, Parts changed) {
  desired_ = desired;
  tracker_.update(desired_.restart);
  if (changed.has(Part::outputs)) {
    open_logs();  // the next run writes to the new files
  } else if (changed.has(Part::rotation)) {
    if (stdout_log_)
      stdout_log_->set_rotation(desired_.stdout_output.max_size, desired_.stdout_output.keep);
    if (stderr_log_)
      stderr_log_->set_rotation(desired_.stderr_output.max_size, desired_.stderr_output.keep);
  }
  // Only a program that runs is restarted: one being stopped, or whose exit the rules are
  // judging, takes the new settings at its next start, if one comes (docs/reload.md).
  if (changed.need_restart() && (state_ == State::starting || state_ == State::running)) {
    // The limits are written at the new start, once the old run is gone.
    restart("configuration changed");
    return {Reconfigured::restarted, {}};
  }
  bool limits_were_pending = limits_pending_.has_value();
  if (auto applied = apply_limits(); !applied)
    return {Reconfigured::failed,
            "limits not applied: " + *limits_pending_ +
                "; pending: tried again at every reload and before the next start "
                "(climits-ctl restart " +
                desired_.name + " applies it now)"};
  if (!changed.empty() || limits_were_pending) return {Reconfigured::updated, {}};
  return {Reconfigured::unchanged, {}};
}

// ---------------------------------------------------------------------------------------------
// The table

void ProgramRunner::post(Event event, std::string cause) {
  queue_.push_back({event, std::move(cause)});
  dispatch();
}

void ProgramRunner::dispatch() {
  // Events posted while one is handled wait their turn: the table is never re-entered.
  if (dispatching_) return;
  dispatching_ = true;
  for (std::size_t i = 0; i < queue_.size(); ++i) {
    Queued next = std::move(queue_[i]);
    handle(next.event, next.cause);
  }
  queue_.clear();
  dispatching_ = false;
}

void ProgramRunner::handle(Event event, const std::string& cause) {
  auto next = transition(state_, event);
  if (!next) {
    spdlog::debug("{}: {} ignored in state {}", desired_.name, event_name(event),
                  state_name(state_));
    return;
  }
  State previous = state_;
  state_ = next->next;
  log_transition(state_, next->action, cause);
  arm_timer(previous, state_);
  perform(next->action, cause);
  if (context_.on_transition) context_.on_transition(*this, previous, state_);
}

// Once per change an operator can see: `ending` is a step inside the line that follows it
// ("running -> backoff (pid 12 exited 1 …; restarting in 1s)"); a kill is logged as well.
void ProgramRunner::log_transition(State to, Action action, const std::string& cause) {
  if (to == State::ending) return;
  State shown = public_state(to);
  if (shown == shown_ && action != Action::kill_cgroup) return;
  spdlog::info("{}: {} -> {} ({})", desired_.name, state_name(shown_), state_name(shown), cause);
  if (context_.events && context_.events->has_listeners())
    context_.events->publish(StateChanged{desired_.name, shown_, shown, cause});
  shown_ = shown;
}

// Each state that waits for time arms the one timer on entry; staying in a state (or moving
// between the two kinds of stopping) keeps the wait already running.
void ProgramRunner::arm_timer(State from, State to) {
  if (from == to) return;
  auto stopping = [](State s) {
    return s == State::stopping || s == State::restarting || s == State::oom_stopping;
  };
  if (stopping(from) && stopping(to)) return;
  switch (to) {
    case State::starting:
      timer_.start(desired_.start_settle);
      break;
    case State::backoff:
      timer_.start(backoff_delay_);
      break;
    case State::stopping:
    case State::restarting:
    case State::oom_stopping:
      timer_.start(desired_.stop.timeout);
      break;
    default:
      timer_.stop();
      break;
  }
}

void ProgramRunner::on_timer() {
  switch (state_) {
    case State::starting:
      post(Event::settled, "alive after " + seconds_text(desired_.start_settle));
      break;
    case State::backoff:
      post(Event::backoff_elapsed, "restart " + std::to_string(restarts_ + 1));
      break;
    case State::stopping:
    case State::restarting:
    case State::oom_stopping:
      post(Event::stop_timeout, "still running " + seconds_text(desired_.stop.timeout) + " after " +
                                    config::signal_name(desired_.stop.signal) +
                                    ": killing its cgroup");
      break;
    default:
      break;
  }
}

void ProgramRunner::perform(Action action, const std::string& cause) {
  switch (action) {
    case Action::none:
      break;
    case Action::reset_and_spawn:
      // An operator's start: the history and the count start again (docs/supervision.md).
      tracker_.reset();
      restarts_ = 0;
      spawn(cause);
      break;
    case Action::spawn:
      ++restarts_;
      spawn(cause);
      break;
    case Action::send_stop_signal:
      // A replacement staged at an OOM kill is for a restart of that kill, not for this.
      cancel_staged();
      if (pid_ > 0) {
        if (auto sent = context_.launcher.send_signal(pid_, desired_.stop.signal); !sent)
          spdlog::warn("{}: {}", desired_.name, sent.error().message);
      }
      break;
    case Action::kill_cgroup:
      cancel_staged();
      // One pass: the main process's exit follows, and the emptying after it catches the rest.
      if (auto killed = context_.backend.kill_pass(desired_.name, 0); !killed)
        spdlog::error("{}: killing its cgroup: {}", desired_.name, killed.error().message);
      break;
    case Action::end_run:
      end_run(cause);
      break;
    case Action::empty_cgroup:
      empty_then(0, Event::emptied_done, cause);
      break;
    case Action::stage_replacement:
      stage_replacement();
      break;
    case Action::cancel_staged:
      cancel_staged();
      break;
    case Action::forget_staged:
      forget_staged();
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// Runs

void ProgramRunner::spawn(const std::string& cause) {
  // A limit still pending is tried again before every start: the last run is gone, so a
  // lower limit that its usage blocked usually fits now.
  if (limits_pending_ || !applied_ || *applied_ != desired_limits(desired_)) {
    if (auto applied = apply_limits(); !applied)
      spdlog::warn("{}: starting with its earlier limits; still pending: {}", desired_.name,
                   *limits_pending_);
  }
  // A cgroup made for this program has counted nothing before its first run: two cgroup
  // reads fewer on the way to every first fork.
  if (counters_at_zero_) {
    oom_baseline_ = 0;
    pids_baseline_ = 0;
    counters_at_zero_ = false;
  } else {
    if (auto count = context_.backend.oom_kill_count(desired_.name)) oom_baseline_ = *count;
    if (auto hits = context_.backend.pids_limit_hits(desired_.name)) pids_baseline_ = *hits;
  }
  // After the baseline: a staged replacement the OOM killer picks after open_gate() looked
  // is counted in this run, and its exit is the OOM kill it is.
  if (staged_pid_ > 0 && adopt_staged()) return;
  auto launched = context_.launcher.launch(
      desired_, context_.backend.entry_files(desired_.name, desired_limits(desired_)),
      [this](int pid, std::int64_t status, int signal) { process_exited(pid, status, signal); });
  started_at_ = now();
  if (!launched) {
    // Nothing ran: the same path as a helper that could not exec, and the same words in the
    // log ("spawn error: …") as in the status.
    pid_ = 0;
    last_pid_ = 0;
    run_length_ = std::chrono::milliseconds(0);
    last_exit_ =
        classify_exit(127, 0, launched.error().message, 0, std::chrono::system_clock::now());
    history_.record({*last_exit_, run_length_, 0});
    post(Event::exited, last_exit_->describe());
    return;
  }
  pid_ = launched->pid;
  last_pid_ = pid_;
  drain_output(*launched);
  spdlog::debug("{}: started pid {} ({})", desired_.name, pid_, cause);
}

// Every process the runner starts reports here, the staged one included (which is the main
// process once adopted).
void ProgramRunner::drain_output(const Launch& launched) {
  if (launched.stdout_pipe) context_.drains->drain(launched.stdout_pipe, stdout_log_);
  if (launched.stderr_pipe) context_.drains->drain(launched.stderr_pipe, stderr_log_);
}

void ProgramRunner::process_exited(int pid, std::int64_t exit_status, int term_signal) {
  if (pid == pid_)
    on_exit(exit_status, term_signal);
  else if (pid == staged_pid_)
    post(Event::staged_exited, "staged replacement exited");
}

void ProgramRunner::on_exit(std::int64_t exit_status, int term_signal) {
  int pid = pid_;
  pid_ = 0;
  auto spawn_error = context_.launcher.take_spawn_error(pid);
  // Re-read the OOM counter now, so that an exit arriving before the OOM event is still
  // classified as an OOM kill.
  if (oom_watcher_) oom_watcher_->check_now();
  std::uint64_t oom_now = oom_baseline_;
  if (auto count = context_.backend.oom_kill_count(desired_.name)) oom_now = *count;
  // One line per run, not one per refused fork: a fork bomb makes thousands a second.
  if (auto hits = context_.backend.pids_limit_hits(desired_.name); hits && *hits > pids_baseline_)
    spdlog::warn("{}: its pids limit ({}) refused {} fork{} during this run", desired_.name,
                 desired_.pids_max ? std::to_string(*desired_.pids_max) : "max",
                 *hits - pids_baseline_, *hits - pids_baseline_ == 1 ? "" : "s");
  run_length_ = now() - started_at_;
  last_exit_ = classify_exit(exit_status, term_signal, spawn_error, oom_now - oom_baseline_,
                             std::chrono::system_clock::now(),
                             desired_.memory.oom_policy != config::OomPolicy::continue_);
  if (state_ == State::starting && last_exit_->kind == ExitKind::exited && last_exit_->code == 0)
    warn_if_daemonized(context_.backend, desired_, staged_pid_);
  history_.record({*last_exit_, run_length_, pid});
  post(Event::exited, "pid " + std::to_string(pid) + " " + last_exit_->describe() + " after " +
                          seconds_text(run_length_));
}

// The end of a run the program ended itself: the restart rules judge the exit now, and their
// verdict is the event once nothing of the run is left in the cgroup (daemonized children and
// workers die with the main process: no copy ever runs twice).
void ProgramRunner::end_run(const std::string& cause) {
  auto decision = tracker_.after_exit(*last_exit_, run_length_, now(),
                                      std::uniform_real_distribution<double>(0, 1)(random_));
  backoff_delay_ = decision.delay;
  switch (decision.what) {
    case RestartTracker::Decision::restart: {
      // A staged replacement is the next run only when it starts at once.
      if (decision.delay.count() != 0) cancel_staged();
      empty_then(staged_pid_, Event::emptied_restart, cause,
                 "; restarting in " + seconds_text(decision.delay) + " (attempt " +
                     std::to_string(decision.attempt) + ")");
      break;
    }
    case RestartTracker::Decision::stay_down:
      cancel_staged();
      empty_then(0, Event::emptied_done, cause,
                 std::string("; the restart policy (") +
                     restart_policy_name(desired_.restart.policy) + ") leaves it down");
      break;
    case RestartTracker::Decision::give_up:
      cancel_staged();
      empty_then(0, Event::emptied_give_up, cause,
                 "; more than " + std::to_string(desired_.restart.limit.burst) +
                     " restarts within " + seconds_text(desired_.restart.limit.interval) +
                     ": giving up until an operator starts it");
      break;
  }
}

// `verdict_text` tells what the rules decided; it is said only if the verdict still stands
// when the cgroup is empty (an operator's stop meanwhile makes it moot).
void ProgramRunner::empty_then(pid_t spare, Event verdict, const std::string& cause,
                               const std::string& verdict_text) {
  auto then = [this, verdict, cause, verdict_text] {
    post(verdict, state_ == State::ending ? cause + verdict_text : cause);
  };
  // A run that never started a process (the launch itself failed) left nothing behind: the
  // cgroup was emptied when the run before it ended. Going straight on matters when the
  // launch failed for want of descriptors, which reading cgroup.procs would need too.
  if (last_pid_ == 0 && staged_pid_ == 0) return then();
  emptier().empty(spare, [this, then](Result<void> emptied) {
    if (!emptied)
      spdlog::error("{}: emptying its cgroup: {}", desired_.name, emptied.error().message);
    then();
  });
}

// ---------------------------------------------------------------------------------------------
// OOM kills and the staged replacement

void ProgramRunner::on_oom(std::uint64_t added) {
  oom_kills_ += added;
  last_oom_at_ = std::chrono::system_clock::now();
  oom_kills_unlogged_ += added;
  if (now() - oom_logged_at_ >= kOomLogInterval)
    log_unlogged_oom_kills(false);
  else if (!oom_log_timer().active())
    oom_log_timer().start(oom_logged_at_ + kOomLogInterval - now());
  if (context_.events && context_.events->has_listeners())
    context_.events->publish(OomKilled{desired_.name, added, oom_kills_});
  post(Event::oom_notice, "OOM kill");
  // The policy is for kills of other processes: a main process that was the victim has its
  // SIGKILL by the time the kill is counted, and its exit, on the way, is the OOM kill.
  if (pid_ == 0 || context_.launcher.dying(pid_)) return;
  switch (desired_.memory.oom_policy) {
    case config::OomPolicy::continue_:
      break;
    case config::OomPolicy::stop:
      post(Event::oom_stop, "an OOM kill in its cgroup; oom_policy stop");
      break;
    case config::OomPolicy::kill:
      post(Event::oom_kill, "an OOM kill in its cgroup; oom_policy kill");
      break;
  }
}

// `held`: these kills came less than kOomLogInterval after the last line, and were held.
void ProgramRunner::log_unlogged_oom_kills(bool held) {
  if (oom_kills_unlogged_ == 0) return;
  std::string limit = desired_.memory.max ? format_bytes(*desired_.memory.max) : "none";
  if (!held)
    spdlog::warn("{}: the kernel OOM-killed {} process{} in its cgroup (limit {}; {} so far)",
                 desired_.name, oom_kills_unlogged_, oom_kills_unlogged_ == 1 ? "" : "es", limit,
                 oom_kills_);
  else
    spdlog::warn("{}: {} more OOM kill{} in the last 1 s (limit {}; {} so far)", desired_.name,
                 oom_kills_unlogged_, oom_kills_unlogged_ == 1 ? "" : "s", limit, oom_kills_);
  oom_kills_unlogged_ = 0;
  oom_logged_at_ = now();
}

void ProgramRunner::stage_replacement() {
  // Only where it pays and where the next step is certain enough: a main process runs, its
  // OOM kill would be restarted, and with zero backoff (with a backoff, a start made when it
  // ends is as good).
  if (pid_ == 0 || staged_pid_ != 0) return;
  if (desired_.restart.policy == config::RestartPolicy::never ||
      desired_.restart.backoff.initial.count() != 0)
    return;
  auto launched = context_.launcher.launch(
      desired_, context_.backend.entry_files(desired_.name, desired_limits(desired_)),
      [this](int pid, std::int64_t status, int signal) { process_exited(pid, status, signal); },
      Gate::held);
  if (!launched) {
    spdlog::debug("{}: no replacement staged: {}", desired_.name, launched.error().message);
    return;
  }
  staged_pid_ = launched->pid;
  ++replacements_staged_;
  drain_output(*launched);  // its output goes where the next run's goes: it is the next run
  stage_timer().start(kStageWindow);
  spdlog::debug("{}: replacement staged as pid {} at the OOM kill", desired_.name, staged_pid_);
}

// False when the staged helper is gone already (killed at its gate, its exit still on the way):
// it is forgotten, and the run starts the usual way.
bool ProgramRunner::adopt_staged() {
  if (stage_timer_) stage_timer_->stop();
  int staged = staged_pid_;
  staged_pid_ = 0;
  if (!context_.launcher.open_gate(staged)) {
    context_.launcher.forget(staged);
    spdlog::debug("{}: staged replacement pid {} died at its gate", desired_.name, staged);
    return false;
  }
  pid_ = staged;
  last_pid_ = pid_;
  started_at_ = now();
  ++staged_runs_;
  spdlog::debug("{}: started pid {} (staged at the OOM kill)", desired_.name, pid_);
  return true;
}

// Killed, not waited for here: the emptying that follows every run (or is under way) no longer
// spares it, so the program's next state is not reached while it is still listed.
void ProgramRunner::cancel_staged() {
  if (staged_pid_ == 0) return;
  if (stage_timer_) stage_timer_->stop();
  if (auto killed = context_.launcher.send_signal(staged_pid_, SIGKILL); !killed)
    spdlog::error("{}: staged replacement: {}", desired_.name, killed.error().message);
  context_.launcher.forget(staged_pid_);
  spdlog::debug("{}: staged replacement pid {} cancelled", desired_.name, staged_pid_);
  staged_pid_ = 0;
  if (emptier_) emptier_->spare_nothing();
}

// The staged helper died before it was needed (OOM-killed in its turn, or it failed a step):
// the restart, if one comes, starts a process the usual way.
void ProgramRunner::forget_staged() {
  if (stage_timer_) stage_timer_->stop();
  auto report = context_.launcher.take_spawn_error(staged_pid_);
  spdlog::debug("{}: staged replacement pid {} died before its turn{}{}", desired_.name,
                staged_pid_, report ? ": " : "", report ? *report : "");
  staged_pid_ = 0;
  if (emptier_) emptier_->spare_nothing();
}

// ---------------------------------------------------------------------------------------------

void ProgramRunner::remove_cgroup(cgroup::Emptier::Done done) {
  cancel_staged();
  oom_watcher_.reset();
  pressure_watch_.reset();
  pressure_armed_.reset();
  emptier().remove(std::move(done));
}

ProgramStatus ProgramRunner::status() const {
  ProgramStatus status;
  status.name = desired_.name;
  status.state = public_state(state_);
  if (pid_ > 0) {
    status.pid = pid_;
    status.uptime_seconds = static_cast<double>((now() - started_at_).count()) / 1000.0;
  }
  if (auto usage = context_.backend.usage(desired_.name)) {
    status.memory_bytes = usage->current;
    status.memory_peak_bytes = usage->peak;
    status.memory_max_bytes = usage->max;
  }
  auto cpu = context_.backend.cpu_usage(desired_.name, applied_.value_or(cgroup::Limits{}));
  status.cpu_seconds = cpu.seconds;
  status.cpu_throttled_seconds = cpu.throttled_seconds;
  status.restarts = restarts_;
  status.oom_kills = oom_kills_;
  status.pressure_events = pressure_events_;
  status.last_oom_at = last_oom_at_;
  status.last_exit = last_exit_;
  status.limits_pending = limits_pending_;
  status.cgroup = context_.backend.path_of(desired_.name);
  return status;
}

ProgramDetail ProgramRunner::detail() const {
  ProgramDetail detail;
  detail.status = status();
  detail.desired_limits = desired_limits(desired_);
  detail.applied_limits = applied_;
  detail.stdout_output = desired_.stdout_output;
  detail.stderr_output = desired_.stderr_output;
  detail.history = history_.newest_first();
  return detail;
}

Result<std::vector<pid_t>> ProgramRunner::send_signal(int signal, bool all_processes) {
  if (pid_ <= 0)
    return Error{
        0, std::string("no process to signal (it is ") + state_name(public_state(state_)) + ")"};
  if (!all_processes) {
    if (auto sent = context_.launcher.send_signal(pid_, signal); !sent) return sent.error();
    return std::vector<pid_t>{pid_};
  }
  return context_.backend.signal_processes(desired_.name, signal, staged_pid_);
}

}  // namespace climits::supervisor
