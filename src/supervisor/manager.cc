#include "supervisor/manager.h"

#include <spdlog/spdlog.h>

namespace climits::supervisor {

Manager::Manager(uv_loop_t* loop, cgroup::Backend& backend, Launcher& launcher)
    : loop_(loop),
      backend_(backend),
      launcher_(launcher),
      context_{loop, backend, launcher,
               [this](const ProgramRunner& runner, State from, State to) {
                 on_transition(runner, from, to);
               }} {}

Manager::~Manager() = default;

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

Result<void> Manager::start(const config::Config& config) {
  clear_stale_cgroups();
  for (const auto& program : config.programs) {
    auto runner = std::make_unique<ProgramRunner>(context_, program);
    if (auto prepared = runner->prepare(); !prepared)
      return Error{prepared.error().code,
                   "program " + program.name + ": " + prepared.error().message};
    runners_.push_back(std::move(runner));
  }
  for (auto& runner : runners_)
    if (runner->program().autostart) runner->start("autostart");
  return success();
}

void Manager::shutdown(std::function<void()> done) {
  if (on_shutdown_done_) {
    spdlog::warn("second shutdown request: killing every program now");
    for (auto& runner : runners_) runner->kill_now("shutdown, second request");
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
  if (on_shutdown_done_) finish_shutdown_if_quiet();
}

void Manager::finish_shutdown_if_quiet() {
  if (finishing_) return;
  for (const auto& runner : runners_)
    if (!runner->at_rest()) return;
  finishing_ = true;
  std::size_t failures = 0;
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

std::vector<ProgramStatus> Manager::status() const {
  std::vector<ProgramStatus> all;
  all.reserve(runners_.size());
  for (const auto& runner : runners_) all.push_back(runner->status());
  return all;
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
