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
#include "supervisor/reload_plan.h"
#include "supervisor/status.h"

namespace climits::supervisor {

// What a reload did, for the log's summary line and for `climits-ctl reload`.
struct ReloadResult {
  std::vector<std::string> added, removed, restarted, updated_live;
  std::size_t unchanged = 0;
  std::vector<std::string> errors;  // "web: memory limits not applied: …"
  std::string summary() const;      // "2 added, 1 removed, 3 restarted, 4 updated live, 990 unchanged"
};

class Manager {
 public:
  Manager(uv_loop_t* loop, cgroup::Backend& backend, Launcher& launcher);
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

  // Applies a new, already validated configuration: only what changed is touched.
  ReloadResult reload(const config::Config& next);
  const config::Config& config() const { return config_; }

  std::vector<ProgramStatus> status() const;
  void reopen_logs();
  ProgramRunner* find(const std::string& name);
  const std::vector<std::unique_ptr<ProgramRunner>>& runners() const { return runners_; }

  // Told of every transition of every program, after the manager's own bookkeeping.
  using Observer = std::function<void(const ProgramRunner&, State from, State to)>;
  void set_observer(Observer observer) { observer_ = std::move(observer); }

  // "3 running, 1 backoff, 0 fatal": for logs and service status lines.
  std::string summary() const;

 private:
  void clear_stale_cgroups();
  void retire(std::unique_ptr<ProgramRunner> runner);
  void reap_retired();
  void on_transition(const ProgramRunner& runner, State from, State to);
  void finish_shutdown_if_quiet();

  uv_loop_t* loop_;
  cgroup::Backend& backend_;
  RunnerContext context_;
  config::Config config_;
  std::vector<std::unique_ptr<ProgramRunner>> runners_;
  // Removed by a reload and still stopping; destroyed (with their cgroups) once at rest, from
  // a timer callback so that a runner is never destroyed inside its own callbacks.
  std::vector<std::unique_ptr<ProgramRunner>> retired_;
  uv_timer_t* reaper_ = nullptr;
  std::function<void()> on_shutdown_done_;
  Observer observer_;
  bool finishing_ = false;
  std::size_t shutdown_failures_ = 0;
};

}  // namespace climits::supervisor
