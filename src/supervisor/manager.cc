#include "supervisor/manager.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

namespace climits::supervisor {

Manager::Manager(uv_loop_t* loop, cgroup::Backend& backend, Launcher& launcher)
    : loop_(loop),
      backend_(backend),
      context_{loop, backend, launcher,
               [this](const ProgramRunner& runner, State from, State to) {
                 on_transition(runner, from, to);
               }} {
  reaper_ = new uv_timer_t;
  uv_timer_init(loop_, reaper_);
  reaper_->data = this;
}

Manager::~Manager() {
  reaper_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(reaper_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
}

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
      spdlog::warn("removed cgroup {} left by a manager that did not shut down cleanly ({} "
                   "process{} killed)",
                   backend_.path_of(name), count, count == 1 ? "" : "es");
    else
      spdlog::error("cannot remove cgroup left by an earlier manager: {}",
                    removed.error().message);
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
      (void)runner->remove_cgroup();
      return Error{prepared.error().code,
                   "program " + program.name + ": " + prepared.error().message};
    }
    runners_.push_back(std::move(runner));
  }
  // The parser's freed memory goes back to the system before the first fork: every fork
  // copies the page tables of what is mapped, every child unmaps them again at exec, and
  // the parent takes a fault on each page it writes next. With it mapped, a start of 500
  // copied half as much again.
  ::malloc_trim(0);
  for (auto& runner : runners_)
    if (runner->program().autostart) runner->start("autostart");
  return success();
}

void Manager::shutdown(std::function<void()> done) {
  if (on_shutdown_done_) {
    spdlog::warn("second shutdown request: killing every program now");
    for (auto& runner : runners_) runner->kill_now("shutdown, second request");
    for (auto& runner : retired_) runner->kill_now("shutdown, second request");
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
  if (!retired_.empty() && runner.at_rest()) {
    uv_timer_start(
        reaper_,
        [](uv_timer_t* t) {
          if (t->data != nullptr) static_cast<Manager*>(t->data)->reap_retired();
        },
        0, 0);
  }
  if (on_shutdown_done_) finish_shutdown_if_quiet();
}

void Manager::retire(std::unique_ptr<ProgramRunner> runner) {
  runner->stop("removed from the configuration");
  retired_.push_back(std::move(runner));
  uv_timer_start(
      reaper_,
      [](uv_timer_t* t) {
        if (t->data != nullptr) static_cast<Manager*>(t->data)->reap_retired();
      },
      0, 0);
}

void Manager::reap_retired() {
  for (auto it = retired_.begin(); it != retired_.end();) {
    if (!(*it)->at_rest()) {
      ++it;
      continue;
    }
    const std::string name = (*it)->program().name;
    if (auto removed = (*it)->remove_cgroup(); !removed)
      spdlog::error("{}: removing its cgroup: {}", name, removed.error().message);
    else
      spdlog::info("{}: removed (no longer in the configuration)", name);
    it = retired_.erase(it);
  }
  if (on_shutdown_done_) finish_shutdown_if_quiet();
}

ReloadResult Manager::reload(const config::Config& next) {
  ReloadResult result;
  auto changes = plan_reload(config_, next);
  std::vector<std::unique_ptr<ProgramRunner>> kept;
  auto take = [](std::vector<std::unique_ptr<ProgramRunner>>& from, const std::string& name) {
    for (auto it = from.begin(); it != from.end(); ++it) {
      if ((*it)->program().name == name) {
        auto runner = std::move(*it);
        from.erase(it);
        return runner;
      }
    }
    return std::unique_ptr<ProgramRunner>();
  };
  // Index the running programs once: a reload of thousands stays linear.
  std::map<std::string, std::unique_ptr<ProgramRunner>> current;
  for (auto& runner : runners_) current.emplace(runner->program().name, std::move(runner));
  runners_.clear();
  std::size_t position = 0;  // plan_reload lists next's programs first, in order
  for (const auto& change : changes) {
    if (change.removed) {
      result.removed.push_back(change.name);
      retire(std::move(current[change.name]));
      continue;
    }
    const config::Program& program = next.programs[position++];
    if (change.added) {
      result.added.push_back(change.name);
      // Removed and given back within a burst of reloads: the old runner is still stopping;
      // take it back rather than racing it for the same cgroup.
      if (auto revived = take(retired_, change.name)) {
        (void)revived->update(program, true, true);
        revived->restart("added back to the configuration");
        kept.push_back(std::move(revived));
        continue;
      }
      auto runner = std::make_unique<ProgramRunner>(context_, program);
      if (auto prepared = runner->prepare(); !prepared) {
        result.errors.push_back(change.name + ": " + prepared.error().message);
        (void)runner->remove_cgroup();
        continue;
      }
      if (program.autostart) runner->start("added by reload");
      kept.push_back(std::move(runner));
      continue;
    }
    auto runner = std::move(current[change.name]);
    if (change.unchanged()) {
      ++result.unchanged;
    } else {
      if (change.restart && has_process(runner->state())) result.restarted.push_back(change.name);
      if (change.limits || change.settings) result.updated_live.push_back(change.name);
      if (auto updated = runner->update(program, change.restart, change.limits); !updated)
        result.errors.push_back(change.name + ": limits not changed: " +
                                updated.error().message);
    }
    kept.push_back(std::move(runner));
  }
  runners_ = std::move(kept);
  config_ = next;
  spdlog::info("reload: {}", result.summary());
  for (const auto& error : result.errors) spdlog::error("reload: {}", error);
  return result;
}

void Manager::finish_shutdown_if_quiet() {
  if (finishing_) return;
  for (const auto& runner : runners_)
    if (!runner->at_rest()) return;
  // Programs removed by a reload just before the shutdown may still be stopping: exiting
  // now would leave them running in their cgroups. reap_retired() comes back here.
  if (!retired_.empty()) return;
  finishing_ = true;
  std::size_t& failures = shutdown_failures_;
  for (auto& runner : runners_) {
    if (auto removed = runner->remove_cgroup(); !removed) {
      ++failures;
      spdlog::error("{}: removing its cgroup: {}", runner->program().name,
                    removed.error().message);
    }
  }
  spdlog::info("all programs stopped{}", failures ? "; some cgroups could not be removed" : "");
  auto done = std::move(on_shutdown_done_);
  on_shutdown_done_ = [] {};  // stays set: later calls are second requests
  done();
}

std::string ReloadResult::summary() const {
  std::string text = std::to_string(added.size()) + " added, " + std::to_string(removed.size()) +
                     " removed, " + std::to_string(restarted.size()) + " restarted, " +
                     std::to_string(updated_live.size()) + " updated live, " +
                     std::to_string(unchanged) + " unchanged";
  if (!errors.empty()) text += ", " + std::to_string(errors.size()) + " failed";
  return text;
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
  for (auto& runner : runners_)
    if (runner->program().name == name) return runner.get();
  return nullptr;
}

std::string Manager::summary() const {
  int counts[7] = {};
  for (const auto& runner : runners_) ++counts[static_cast<int>(runner->state())];
  auto count = [&](State s) { return counts[static_cast<int>(s)]; };
  std::string text = std::to_string(count(State::running)) + " running";
  for (State s : {State::starting, State::backoff, State::stopping, State::exited, State::stopped})
    if (count(s) > 0) text += ", " + std::to_string(count(s)) + " " + state_name(s);
  text += ", " + std::to_string(count(State::fatal)) + " fatal";
  return text;
}

}  // namespace climits::supervisor
