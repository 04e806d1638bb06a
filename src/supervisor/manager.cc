#include "supervisor/manager.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <map>
#include <unordered_set>

#include "config/units.h"

namespace climits::supervisor {

Manager::Manager(uv_loop_t* loop, cgroup::Backend& backend, ProcessLauncher& launcher)
    : backend_(backend),
      context_{loop,
               backend,
               launcher,
               [this](const ProgramRunner& runner, State from, State to) {
                 on_transition(runner, from, to);
               },
               &drains_,
               &events_},
      reaper_(loop, [this] { advance_retired(); }) {}

Manager::~Manager() = default;

// Start-up, before the loop runs: the blocking removal is the one place allowed to wait.
void Manager::clear_stale_cgroups() {
  auto stale = backend_.existing_programs();
  if (!stale) {
    spdlog::warn("cannot list program cgroups left by an earlier manager: {}",
                 stale.error().message);
    return;
  }
  for (const auto& name : *stale) {
    auto processes = backend_.processes(name);
    std::size_t count = processes ? processes->size() : 0;
    auto removed = backend_.remove(name);
    if (removed)
      spdlog::warn(
          "removed cgroup {} left by a manager that did not shut down cleanly ({} "
          "process{} killed)",
          backend_.path_of(name), count, count == 1 ? "" : "es");
    else
      spdlog::error("cannot remove cgroup left by an earlier manager: {}", removed.error().message);
  }
}

Result<void> Manager::start(config::Config config) {
  config_ = std::move(config);
  clear_stale_cgroups();
  // Every cgroup first, then every start: a helper joining its cgroup holds the cgroup
  // mutex through an RCU grace period, and the next mkdir would queue behind it (starting
  // each program right after its cgroup measured almost twice as slow, bench/findings.md).
  for (const auto& program : config_.programs) {
    auto runner = std::make_unique<ProgramRunner>(context_, program);
    if (auto prepared = runner->prepare(); !prepared) {
      // Its cgroup may exist already (the OOM watcher failed, e.g. out of descriptors): the
      // shutdown that follows only removes the runners it knows.
      (void)backend_.remove(program.name);
      return Error{prepared.error().code,
                   "program " + program.name + ": " + prepared.error().message};
    }
    runners_.push_back(std::move(runner));
  }
  reindex();
  // The parser's freed memory goes back to the system before the first fork: every fork
  // copies the page tables of what is mapped, every child unmaps them again at exec, and
  // the parent takes a fault on each page it writes next. With it mapped, a start of 500
  // copied half as much again.
  ::malloc_trim(0);
  for (auto& runner : runners_)
    if (runner->program().autostart) start_program(*runner, "autostart");
  return success();
}

void Manager::reindex() {
  by_name_.clear();
  by_name_.reserve(runners_.size());
  for (auto& runner : runners_) by_name_.emplace(runner->program().name, runner.get());
  dependencies_.index(runners_, by_name_);
}

// ---------------------------------------------------------------------------------------------
// Dependencies (docs/health.md)

std::vector<ProgramRunner*> Manager::start_program(ProgramRunner& runner,
                                                   const std::string& cause) {
  std::vector<ProgramRunner*> started;
  start_with_dependencies(runner, cause, started);
  return started;
}

void Manager::start_with_dependencies(ProgramRunner& runner, const std::string& cause,
                                      std::vector<ProgramRunner*>& started) {
  const std::string& name = runner.program().name;
  // Wanted again: a stop waiting for its dependents is called off, and a restart for a
  // dependency is this start.
  stops_pending_.erase(&runner);
  restarts_pending_.erase(&runner);
  for (const auto& dependency : runner.program().depends_on) {
    ProgramRunner* needed = dependencies_.find(dependency.name);
    if (needed == nullptr) continue;
    stops_pending_.erase(needed);
    // A dependency on its way (starting, backoff, waiting itself) is left to get there; one
    // that already holds (a job that succeeded) is not run again.
    if (!needed->at_rest() || Dependencies::holds(dependency, *needed)) continue;
    start_with_dependencies(*needed, "needed by " + name, started);
    started.push_back(needed);
  }
  bool may_wait = runner.at_rest() || runner.state() == State::backoff;
  if (may_wait && !dependencies_.unmet(runner.program()).empty())
    runner.wait_for_dependencies(cause);
  else
    runner.start(cause);
}

std::vector<ProgramRunner*> Manager::stop_program(ProgramRunner& runner, const std::string& cause) {
  std::vector<ProgramRunner*> dependents;
  std::unordered_set<const ProgramRunner*> seen;
  collect_dependents(runner, dependents, seen);
  restarts_pending_.erase(&runner);
  for (auto* dependent : dependents) {
    restarts_pending_.erase(dependent);
    queue_stop(*dependent, "its dependency " + runner.program().name + " is stopping");
  }
  queue_stop(runner, cause);
  for (auto* dependent : dependents) try_stop(*dependent);
  try_stop(runner);
  return dependents;
}

// The programs that need `runner` alive, and those that need them, each once, not at rest; in
// the order they stop (a program after every program that needs it).
void Manager::collect_dependents(const ProgramRunner& runner, std::vector<ProgramRunner*>& found,
                                 std::unordered_set<const ProgramRunner*>& seen) {
  for (const auto& dependent : dependencies_.dependents_of(runner.program().name)) {
    if (!stops_with_dependency(dependent.terms) || dependent.runner->at_rest()) continue;
    if (!seen.insert(dependent.runner).second) continue;
    collect_dependents(*dependent.runner, found, seen);
    found.push_back(dependent.runner);
  }
}

void Manager::queue_stop(ProgramRunner& runner, const std::string& cause) {
  stops_pending_.emplace(&runner, cause);
}

// A queued stop goes out once every program that needs this one alive is down.
void Manager::try_stop(ProgramRunner& runner) {
  auto pending = stops_pending_.find(&runner);
  if (pending == stops_pending_.end()) return;
  for (const auto& dependent : dependencies_.dependents_of(runner.program().name))
    if (stops_with_dependency(dependent.terms) && !dependent.runner->at_rest()) return;
  std::string cause = std::move(pending->second);
  stops_pending_.erase(pending);
  runner.stop(cause);
}

// What a program's transition means for the programs around it: dependents waiting for it
// may start; dependents with restart: true restart with it; a dependency whose stop waited
// for this one may stop; a dependent restarted for its dependency starts again.
void Manager::follow_dependency(const ProgramRunner& runner, State from, State to) {
  const std::string& name = runner.program().name;
  for (const auto& dependent : dependencies_.dependents_of(name)) {
    ProgramRunner& other = *dependent.runner;
    if (other.state() == State::waiting && dependencies_.unmet(other.program()).empty()) {
      other.dependencies_met(name + " " +
                             config::dependency_condition_name(dependent.terms.condition));
    } else if (dependent.terms.restart && to == State::starting &&
               (from == State::backoff || from == State::restarting) && !other.at_rest() &&
               other.state() != State::waiting && !shutting_down()) {
      restarts_pending_.emplace(&other, "its dependency " + name + " restarted");
      other.stop("its dependency " + name + " restarted");
    }
  }
  if (!supervisor::at_rest(to)) return;
  for (const auto& dependency : runner.program().depends_on)
    if (ProgramRunner* needed = dependencies_.find(dependency.name)) try_stop(*needed);
  auto restart = restarts_pending_.find(const_cast<ProgramRunner*>(&runner));
  if (restart != restarts_pending_.end()) {
    ProgramRunner* again = restart->first;
    std::string cause = std::move(restart->second);
    restarts_pending_.erase(restart);
    start_program(*again, cause);
  }
}

void Manager::shutdown(std::function<void()> done) {
  if (on_shutdown_done_) {
    spdlog::warn("second shutdown request: killing every program now");
    stops_pending_.clear();
    for (auto& runner : runners_) runner->kill_now("shutdown, second request");
    for (auto& retired : retired_) retired.runner->kill_now("shutdown, second request");
    return;
  }
  on_shutdown_done_ = std::move(done);
  spdlog::info("shutting down: stopping {} program{}", runners_.size(),
               runners_.size() == 1 ? "" : "s");
  // In reverse dependency order: each program once the programs that need it are down.
  restarts_pending_.clear();
  for (auto& runner : runners_) queue_stop(*runner, "shutdown");
  for (auto& runner : runners_) try_stop(*runner);
  finish_shutdown_if_quiet();
}

void Manager::on_transition(const ProgramRunner& runner, State from, State to) {
  if (observer_) observer_(runner, from, to);
  follow_dependency(runner, from, to);
  if (!retired_.empty() && runner.at_rest()) reaper_.start(std::chrono::milliseconds(0));
  if (on_shutdown_done_) finish_shutdown_if_quiet();
}

void Manager::retire(std::unique_ptr<ProgramRunner> runner) {
  stops_pending_.erase(runner.get());
  restarts_pending_.erase(runner.get());
  runner->stop("removed from the configuration");
  retired_.push_back({std::move(runner)});
  reaper_.start(std::chrono::milliseconds(0));
}

// A program removed and given back within a burst of reloads: its old runner may still be
// stopping or removing its cgroup; it is taken back rather than raced for the same cgroup.
std::unique_ptr<ProgramRunner> Manager::revive(const std::string& name,
                                               const config::Program& program) {
  for (auto it = retired_.begin(); it != retired_.end(); ++it) {
    if (it->runner->program().name != name || it->step == Retired::removed) continue;
    auto runner = std::move(it->runner);
    retired_.erase(it);
    runner->cancel_removal();
    // Made again if its removal got that far; its limits are the new ones.
    if (auto prepared = runner->prepare(); !prepared)
      spdlog::error("{}: taking its cgroup back: {}", name, prepared.error().message);
    (void)runner->reconfigure(program, Parts::all());
    if (program.autostart) runner->restart("added back to the configuration");
    return runner;
  }
  return nullptr;
}

void Manager::advance_retired() {
  for (auto& retired : retired_) {
    if (retired.step != Retired::stopping || !retired.runner->at_rest()) continue;
    retired.step = Retired::removing;
    ProgramRunner* runner = retired.runner.get();
    runner->remove_cgroup([this, runner](Result<void> removed) {
      const std::string& name = runner->program().name;
      if (!removed)
        spdlog::error("{}: removing its cgroup: {}", name, removed.error().message);
      else
        spdlog::info("{}: removed (no longer in the configuration)", name);
      for (auto& entry : retired_)
        if (entry.runner.get() == runner) entry.step = Retired::removed;
      reaper_.start(std::chrono::milliseconds(0));  // destroyed from there
    });
  }
  std::erase_if(retired_, [](const Retired& r) { return r.step == Retired::removed; });
  if (on_shutdown_done_) finish_shutdown_if_quiet();
}

ReloadResult Manager::reload(const config::Config& next) {
  ReloadResult result;
  auto changes = plan_reload(config_, next);
  // Index the running programs once: a reload of thousands stays linear.
  std::map<std::string, std::unique_ptr<ProgramRunner>> current;
  for (auto& runner : runners_) current.emplace(runner->program().name, std::move(runner));
  runners_.clear();
  std::vector<std::unique_ptr<ProgramRunner>> kept;
  std::vector<ProgramRunner*> added_to_start;  // once every program is indexed
  std::size_t position = 0;                    // plan_reload lists next's programs first, in order
  for (const auto& change : changes) {
    if (change.removed) {
      result.removed.push_back(change.name);
      retire(std::move(current[change.name]));
      continue;
    }
    const config::Program& program = next.programs[position++];
    if (change.added) {
      auto runner = revive(change.name, program);
      if (!runner) {
        runner = std::make_unique<ProgramRunner>(context_, program);
        if (auto prepared = runner->prepare(); !prepared) {
          result.failed.push_back({change.name, prepared.error().message});
          // Made just now and never run: nothing in it to wait for.
          (void)backend_.remove(change.name);
          continue;
        }
        if (program.autostart) added_to_start.push_back(runner.get());
      }
      result.added.push_back(change.name);
      kept.push_back(std::move(runner));
      continue;
    }
    auto runner = std::move(current[change.name]);
    auto outcome = runner->reconfigure(program, change.parts);
    switch (outcome.group) {
      case Reconfigured::unchanged:
        ++result.unchanged;
        break;
      case Reconfigured::updated:
        result.updated.push_back(change.name);
        break;
      case Reconfigured::restarted:
        result.restarted.push_back(change.name);
        break;
      case Reconfigured::failed:
        result.failed.push_back({change.name, outcome.error});
        break;
    }
    kept.push_back(std::move(runner));
  }
  runners_ = std::move(kept);
  reindex();
  for (auto* runner : added_to_start) start_program(*runner, "added by reload");
  // A changed depends_on restarts nothing; a program waiting may be free to start now.
  for (auto& runner : runners_)
    if (runner->state() == State::waiting && dependencies_.unmet(runner->program()).empty())
      runner->dependencies_met("dependencies changed by reload");
  config_ = next;
  spdlog::info("reload: {}", result.summary());
  for (const auto& failure : result.failed)
    spdlog::error("reload: {}: {}", failure.name, failure.error);
  if (events_.has_listeners()) events_.publish(Reloaded{result});
  return result;
}

void Manager::finish_shutdown_if_quiet() {
  if (removing_) return;
  for (const auto& runner : runners_)
    if (!runner->at_rest()) return;
  // Programs removed by a reload just before the shutdown may still be stopping: exiting
  // now would leave them running in their cgroups. advance_retired() comes back here.
  if (!retired_.empty()) return;
  removing_ = true;
  removals_pending_ = runners_.size() + 1;  // +1: the loop below is one more to finish
  for (auto& runner : runners_) {
    const std::string name = runner->program().name;
    runner->remove_cgroup(
        [this, name](Result<void> removed) { removed_at_shutdown(name, removed); });
  }
  removed_at_shutdown("", success());
}

void Manager::removed_at_shutdown(const std::string& name, const Result<void>& removed) {
  if (!removed) {
    ++shutdown_failures_;
    spdlog::error("{}: removing its cgroup: {}", name, removed.error().message);
  }
  if (--removals_pending_ > 0) return;
  spdlog::info("all programs stopped{}",
               shutdown_failures_ ? "; some cgroups could not be removed" : "");
  auto done = std::move(on_shutdown_done_);
  on_shutdown_done_ = [] {};  // stays set: later calls are second requests
  done();
}

std::vector<ProgramStatus> Manager::status() const {
  std::vector<ProgramStatus> all;
  all.reserve(runners_.size());
  for (const auto& runner : runners_) all.push_back(status_of(*runner));
  return all;
}

ProgramStatus Manager::status_of(const ProgramRunner& runner) const {
  ProgramStatus status = runner.status();
  status.waiting_for = waiting_for(runner);
  return status;
}

std::vector<std::string> Manager::waiting_for(const ProgramRunner& runner) const {
  if (runner.state() != State::waiting) return {};
  return dependencies_.unmet(runner.program());
}

void Manager::reopen_logs() {
  for (auto& runner : runners_) runner->reopen_logs();
}

ProgramRunner* Manager::find(const std::string& name) {
  auto found = by_name_.find(name);
  return found == by_name_.end() ? nullptr : found->second;
}

std::string Manager::summary() const {
  int counts[kStateCount] = {};
  for (const auto& runner : runners_) ++counts[static_cast<int>(public_state(runner->state()))];
  auto count = [&](State s) { return counts[static_cast<int>(s)]; };
  std::string text = std::to_string(count(State::running)) + " running";
  for (State s : {State::waiting, State::starting, State::backoff, State::stopping, State::exited,
                  State::stopped})
    if (count(s) > 0) text += ", " + std::to_string(count(s)) + " " + state_name(s);
  text += ", " + std::to_string(count(State::fatal)) + " fatal";
  return text;
}

}  // namespace climits::supervisor
