#pragma once
// All programs of one configuration: created at start-up (after clearing what a dead manager
// left behind), started if autostart, stopped together at shutdown.
#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cgroup/backend.h"
#include "config/model.h"
#include "supervisor/launcher.h"
#include "supervisor/program_runner.h"
#include "supervisor/status.h"

namespace climits::supervisor {

class Manager {
 public:
  Manager(uv_loop_t* loop, cgroup::Backend& backend, Launcher& launcher);
  ~Manager();

  // Removes stale program cgroups, prepares every program's cgroup and starts the autostart
  // ones. An error (a cgroup that cannot be made) is fatal at start-up.
  Result<void> start(const config::Config& config);

  // Stops every program in parallel; when all are down, removes their cgroups and calls
  // `done`. A second call kills what is still stopping.
  void shutdown(std::function<void()> done);
  bool shutting_down() const { return static_cast<bool>(on_shutdown_done_); }

  std::vector<ProgramStatus> status() const;
  ProgramRunner* find(const std::string& name);
  const std::vector<std::unique_ptr<ProgramRunner>>& runners() const { return runners_; }

  // Told of every transition of every program, after the manager's own bookkeeping.
  using Observer = std::function<void(const ProgramRunner&, State from, State to)>;
  void set_observer(Observer observer) { observer_ = std::move(observer); }

  // "3 running, 1 backoff, 0 fatal": for logs and service status lines.
  std::string summary() const;

 private:
  void clear_stale_cgroups();
  void on_transition(const ProgramRunner& runner, State from, State to);
  void finish_shutdown_if_quiet();

  uv_loop_t* loop_;
  cgroup::Backend& backend_;
  Launcher& launcher_;
  RunnerContext context_;
  std::vector<std::unique_ptr<ProgramRunner>> runners_;
  std::function<void()> on_shutdown_done_;
  Observer observer_;
  bool finishing_ = false;
};

}  // namespace climits::supervisor
