#pragma once
// All programs of one configuration: created at start-up (after clearing what a dead manager
// left behind), started if autostart, reconfigured by reloads, stopped together at shutdown.
// Nothing here waits: cgroups are emptied and removed by continuations on the loop.
#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cgroup/backend.h"
#include "config/model.h"
#include "supervisor/dependencies.h"
#include "supervisor/events.h"
#include "supervisor/launcher.h"
#include "supervisor/program_runner.h"
#include "supervisor/reload_plan.h"
#include "supervisor/reload_result.h"
#include "supervisor/status.h"
#include "util/uv_handle.h"

namespace climits::supervisor {

class Manager {
 public:
  Manager(uv_loop_t* loop, cgroup::Backend& backend, ProcessLauncher& launcher);
  ~Manager();

  // Removes stale program cgroups, prepares every program's cgroup and starts the autostart
  // ones. An error (a cgroup that cannot be made) is fatal at start-up.
  Result<void> start(config::Config config);

  // Stops every program in parallel; when all are down, removes their cgroups and calls
  // `done`. A second call kills what is still stopping.
  void shutdown(std::function<void()> done);
  bool shutting_down() const { return static_cast<bool>(on_shutdown_done_); }
  // After shutdown: whether every program cgroup was removed.
  bool left_nothing_behind() const { return shutdown_failures_ == 0; }

  // Applies a new, already validated configuration: only what changed is touched, and limits
  // still pending are tried again.
  ReloadResult reload(const config::Config& next);
  const config::Config& config() const { return config_; }

  // Starts a program, and first what it depends on (docs/health.md); while its dependencies
  // do not hold it is `waiting`. Returns the other programs it started, dependencies first.
  std::vector<ProgramRunner*> start_program(ProgramRunner& runner, const std::string& cause);
  // Stops a program once the programs that need it alive (depends_on started or ready, and
  // theirs in turn) are down; those are stopped first. Returns them.
  std::vector<ProgramRunner*> stop_program(ProgramRunner& runner, const std::string& cause);

  std::vector<ProgramStatus> status() const;
  // One program's status, with what it waits for.
  ProgramStatus status_of(const ProgramRunner& runner) const;
  // The dependencies a waiting program waits for (none when it is not waiting).
  std::vector<std::string> waiting_for(const ProgramRunner& runner) const;
  void reopen_logs();
  ProgramRunner* find(const std::string& name);
  const std::vector<std::unique_ptr<ProgramRunner>>& runners() const { return runners_; }

  // Told of every transition of every program, after the manager's own bookkeeping.
  using Observer = std::function<void(const ProgramRunner&, State from, State to)>;
  void set_observer(Observer observer) { observer_ = std::move(observer); }

  // Transitions, OOM kills and reloads, as they happen (events.h).
  Events& events() { return events_; }

  // "3 running, 1 backoff, 0 fatal": for logs and service status lines.
  std::string summary() const;

 private:
  // A runner removed by a reload: stopping, then its cgroup being removed, then destroyed (from
  // a timer callback, never inside its own callbacks).
  struct Retired {
    std::unique_ptr<ProgramRunner> runner;
    enum { stopping, removing, removed } step = stopping;
  };

  void clear_stale_cgroups();
  void retire(std::unique_ptr<ProgramRunner> runner);
  std::unique_ptr<ProgramRunner> revive(const std::string& name, const config::Program& program);
  void advance_retired();
  void on_transition(const ProgramRunner& runner, State from, State to);
  void finish_shutdown_if_quiet();
  void removed_at_shutdown(const std::string& name, const Result<void>& removed);
  void reindex();
  void start_with_dependencies(ProgramRunner& runner, const std::string& cause,
                               std::vector<ProgramRunner*>& started);
  void collect_dependents(const ProgramRunner& runner, std::vector<ProgramRunner*>& found,
                          std::unordered_set<const ProgramRunner*>& seen);
  void queue_stop(ProgramRunner& runner, const std::string& cause);
  void try_stop(ProgramRunner& runner);
  void follow_dependency(const ProgramRunner& runner, State from, State to);

  cgroup::Backend& backend_;
  // Outlives the runners: at the end it reads what their pipes still hold, then closes them.
  OutputDrains drains_;
  Events events_;
  RunnerContext context_;
  config::Config config_;
  std::vector<std::unique_ptr<ProgramRunner>> runners_;
  std::unordered_map<std::string, ProgramRunner*> by_name_;
  Dependencies dependencies_;
  // Stops waiting for the programs that need these alive to be down, with their causes.
  std::unordered_map<ProgramRunner*, std::string> stops_pending_;
  // Dependents of a program that restarted (restart: true): being stopped, started again
  // (through their dependencies' conditions) once down.
  std::unordered_map<ProgramRunner*, std::string> restarts_pending_;
  std::vector<Retired> retired_;
  Timer reaper_;  // advances the retired runners, outside any runner's callback
  std::function<void()> on_shutdown_done_;
  Observer observer_;
  bool removing_ = false;             // shutdown: the cgroups are being removed
  std::size_t removals_pending_ = 0;  // shutdown: cgroups not removed yet
  std::size_t shutdown_failures_ = 0;
};

}  // namespace climits::supervisor
