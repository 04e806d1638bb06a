#include "supervisor/manager.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <map>

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
    if (runner->program().autostart) runner->start("autostart");
  return success();
}

void Manager::reindex() {
  by_name_.clear();
  by_name_.reserve(runners_.size());
  for (auto& runner : runners_) by_name_.emplace(runner->program().name, runner.get());
}

void Manager::shutdown(std::function<void()> done) {
  if (on_shutdown_done_) {
    spdlog::warn("second shutdown request: killing every program now");
    for (auto& runner : runners_) runner->kill_now("shutdown, second request");
    for (auto& retired : retired_) retired.runner->kill_now("shutdown, second request");
    return;
  }
  on_shutdown_done_ = std::move(done);
  spdlog::info("shutting down: stopping {} program{}", runners_.size(),
               runners_.size() == 1 ? "" : "s");
  for (auto& runner : runners_) runner->stop("shutdown");
  finish_shutdown_if_quiet();
}

void Manager::on_transition(const ProgramRunner& runner, State from, State to) {
  if (observer_) observer_(runner, from, to);
  if (!retired_.empty() && runner.at_rest()) reaper_.start(std::chrono::milliseconds(0));
  if (on_shutdown_done_) finish_shutdown_if_quiet();
}

void Manager::retire(std::unique_ptr<ProgramRunner> runner) {
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
  std::size_t position = 0;  // plan_reload lists next's programs first, in order
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
        if (program.autostart) runner->start("added by reload");
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
  for (const auto& runner : runners_) all.push_back(runner->status());
  return all;
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
  for (State s : {State::starting, State::backoff, State::stopping, State::exited, State::stopped})
    if (count(s) > 0) text += ", " + std::to_string(count(s)) + " " + state_name(s);
  text += ", " + std::to_string(count(State::fatal)) + " fatal";
  return text;
}

}  // namespace climits::supervisor
