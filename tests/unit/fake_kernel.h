#pragma once
// The supervisor's two seams, faked: a FakeKernel holds programs' cgroups and processes as
// plain records, a FakeBackend (cgroup::Backend) and a FakeLauncher (ProcessLauncher) speak to
// it. No root, no real processes, no real cgroups: the supervisor core (Manager, ProgramRunner,
// Emptier, OomWatcher) runs unchanged on a real uv loop against them.
//
// As with the real kernel and libuv, nothing happens inside a call: a process killed by
// send_signal() or kill_pass() is still listed in its cgroup, and its exit is reported, from a
// 0 ms timer on the loop (it then leaves the cgroup's list and its launcher callback runs).
// Every step the supervisor takes is written to FakeKernel::journal, in order.
#include <sys/types.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/backend.h"
#include "config/model.h"
#include "supervisor/launcher.h"
#include "supervisor/manager.h"
#include "supervisor/program_runner.h"
#include "supervisor/state.h"
#include "tests/support/run_loop.h"
#include "util/uv_handle.h"

namespace climits::fake {

// How a fake process answers signals.
struct Behaviour {
  enum Kind {
    dies_on_signal,  // any signal kills it (the stop signal, SIGKILL)
    ignores_term,    // only SIGKILL kills it
    frozen,          // nothing kills it until thawed; signals stay pending until then
  } kind = dies_on_signal;
  // Exits with this code as soon as it runs (at launch, or when its gate opens).
  std::optional<int> exit_at_once;

  static Behaviour ignoring_term() { return with(ignores_term); }
  static Behaviour frozen_one() { return with(frozen); }
  static Behaviour exiting_at_once(int code) {
    Behaviour b;
    b.exit_at_once = code;
    return b;
  }

 private:
  static Behaviour with(Kind kind) {
    Behaviour b;
    b.kind = kind;
    return b;
  }
};

class FakeKernel {
 public:
  // How a launched process's end reaches its launcher (not set for leftovers).
  using Reaper = std::function<void(int pid, std::int64_t exit_status, int term_signal)>;

  struct Process {
    int pid = 0;
    std::string program;
    Behaviour behaviour;
    bool at_gate = false;    // a held launch whose gate is closed
    bool dying = false;      // its death is queued, not delivered yet
    bool gone = false;       // delivered: out of its cgroup, reaped
    int pending_signal = 0;  // frozen: the strongest signal waiting for the thaw
    Reaper reaper;
  };

  struct Cgroup {
    bool exists = false;
    cgroup::Limits limits;  // what was written last (the kernel defaults at creation)
    int creations = 0;
    int applies = 0;  // successful apply() calls
    int refusals = 0;
    int removals = 0;
    std::uint64_t usage = 0;  // memory in use, as the test sets it
    // cgroup v1: a memory.max below the usage is refused with EBUSY.
    bool refuse_max_below_usage = false;
    std::uint64_t oom_kills = 0;
    std::uint64_t pids_events = 0;
    std::vector<int> pids;  // listed in cgroup.procs, in joining order
    int oom_eventfd = -1;   // ours; its duplicate belongs to the watcher
  };

  explicit FakeKernel(uv_loop_t* loop);
  ~FakeKernel();
  FakeKernel(const FakeKernel&) = delete;
  FakeKernel& operator=(const FakeKernel&) = delete;

  uv_loop_t* loop() const { return loop_; }

  // The record of a program's cgroup (made, not existing, if unknown).
  Cgroup& cgroup(const std::string& program) { return cgroups_[program]; }
  bool exists(const std::string& program) const;
  const std::map<std::string, Cgroup>& cgroups() const { return cgroups_; }
  // Null for a pid never made.
  Process* process(int pid);
  // Listed in a cgroup and not dead yet (a dying process is still listed, but not alive).
  bool alive(int pid) const;
  bool listed(const std::string& program, int pid) const;

  // A new process in the program's cgroup (which must exist).
  int spawn(const std::string& program, Behaviour behaviour, bool at_gate, Reaper reaper);
  // A process the program left in its cgroup (a daemonized child): nobody reaps it for us.
  int add_leftover(const std::string& program, Behaviour behaviour);

  void signal(int pid, int sig);
  // The process ends by itself with `code`.
  void exit(int pid, int code);
  // A frozen process runs again: a signal that waited for it takes effect now.
  void thaw(int pid);
  void open_gate(int pid);
  // The kernel OOM-killed something in the cgroup: the counter grows by `kills`, then the
  // watcher's eventfd ticks (the victim's death is the test's to cause).
  void oom_event(const std::string& program, std::uint64_t kills = 1);
  // The backend's watcher listens on a duplicate of `fd`; a write to `fd` ticks it.
  void adopt_eventfd(const std::string& program, int fd);

  // The real kernel's order for `pid`: when it dies it leaves its cgroup's list as usual,
  // but the exit report (libuv's SIGCHLD) waits until release_report(pid).
  void hold_report(int pid) { held_.push_back(pid); }
  void release_report(int pid);

  // Every step, in order: "create a", "apply a", "refuse a", "launch a 1001", "launch a 1002
  // held", "gate 1002", "signal 1001 15", "kill_pass a 2", "exit 1001 0/15", "remove a", …
  std::vector<std::string> journal;
  // Index of the first journal line starting with `prefix` at or after `from`, or -1.
  int find(const std::string& prefix, int from = 0) const;
  int count(const std::string& prefix) const;

 private:
  struct Death {
    int pid;
    std::int64_t status;
    int signal;
  };
  void die(Process& process, std::int64_t status, int signal);
  void deliver();
  void start_running(Process& process);

  uv_loop_t* loop_;
  std::map<std::string, Cgroup> cgroups_;
  std::map<int, Process> processes_;
  std::vector<Death> deaths_;
  std::vector<int> held_;           // pids whose exit report waits for release_report()
  std::vector<Death> held_deaths_;  // dead, out of their cgroup, not reported yet
  std::vector<Death> released_;     // to report at the next delivery
  Timer delivery_;
  int next_pid_ = 1000;
  std::vector<int> fds_;  // eventfds of ours, closed at the end
};

class FakeBackend final : public cgroup::Backend {
 public:
  explicit FakeBackend(FakeKernel& kernel, cgroup::Version version = cgroup::Version::v2)
      : Backend(-1), kernel_(kernel), version_(version) {}

  cgroup::Version version() const override { return version_; }
  std::string describe() const override { return "fake cgroups"; }
  std::string path_of(const std::string& program) const override {
    return "/fake/" + cgroup::cgroup_dir_name(program);
  }
  std::vector<std::string> entry_files(const std::string& program,
                                       const cgroup::Limits& limits) const override;
  Result<bool> create(const std::string& program, const cgroup::Limits& limits) override;
  Result<cgroup::Warnings> apply(const std::string& program, const cgroup::Limits& limits,
                                 Holds holds) override;
  Result<cgroup::MemoryUsage> usage(const std::string& program) override;
  cgroup::CpuUsage cpu_usage(const std::string&, const cgroup::Limits&) override { return {}; }
  Result<std::uint64_t> oom_kill_count(const std::string& program) override;
  Result<std::uint64_t> pids_limit_hits(const std::string& program) override;
  Result<std::vector<pid_t>> processes(const std::string& program) override;
  Result<std::size_t> kill_pass(const std::string& program, pid_t spare) override;
  Result<std::vector<pid_t>> signal_processes(const std::string& program, int signal,
                                              pid_t spare) override;
  Result<void> remove_empty(const std::string& program) override;
  Result<std::vector<std::string>> existing_programs() override;
  Result<std::unique_ptr<cgroup::OomWatcher>> watch_oom(
      uv_loop_t* loop, const std::string& program, cgroup::OomWatcher::Callback callback) override;

  int kill_passes = 0;  // every call, empty or not

 private:
  FakeKernel& kernel_;
  cgroup::Version version_;
};

class FakeLauncher final : public supervisor::ProcessLauncher {
 public:
  struct LaunchRecord {
    std::string program;
    supervisor::Gate gate;
    int pid;
    config::Program config;  // as it was launched
    std::vector<std::string> entry_files;
  };
  struct SignalRecord {
    int pid;
    int signal;
  };

  explicit FakeLauncher(FakeKernel& kernel) : kernel_(kernel) {}

  Result<supervisor::Launch> launch(const config::Program& program,
                                    const std::vector<std::string>& entry_files,
                                    ExitCallback on_exit,
                                    supervisor::Gate gate = supervisor::Gate::none) override;
  bool open_gate(int pid) override;
  bool dying(int pid) override { return !kernel_.alive(pid); }
  Result<void> send_signal(int pid, int signal) override;
  std::optional<std::string> take_spawn_error(int pid) override;
  void forget(int pid) override;

  // The next `n` launches fail with `message` (nothing is started).
  void fail_next(int n, std::string message = "/bin/fake: No such file or directory");
  // How the program's next processes behave (default: they die on any signal).
  void set_behaviour(const std::string& program, Behaviour behaviour) {
    behaviours_[program] = behaviour;
  }

  // Launches that started a process, in order.
  std::vector<LaunchRecord> launches;
  int attempts = 0;  // every launch() call, failed ones included
  std::vector<int> gates_opened;
  std::vector<SignalRecord> signals;
  std::vector<int> forgotten;
  std::vector<int> spawn_errors_taken;

  std::vector<LaunchRecord> launches_of(const std::string& program) const;
  // The pid of the program's last launch (0: none).
  int last_pid(const std::string& program) const;
  bool was_signalled(int pid, int signal) const;
  bool was_forgotten(int pid) const;
  // Processes launched and not reaped yet.
  std::size_t unreaped() const { return children_.size(); }

 private:
  struct Child {
    ExitCallback on_exit;
    bool forgotten = false;
  };
  void reaped(int pid, std::int64_t exit_status, int term_signal);

  FakeKernel& kernel_;
  std::map<std::string, Behaviour> behaviours_;
  std::map<int, Child> children_;
  int failures_left_ = 0;
  std::string failure_message_;
};

using test::run_loop_until;

// A `programs:` entry with quick timings; a key of `extra` replaces the default of that key.
// Defaults: settle 10ms, stop timeout 50ms, restart on-failure with 10ms backoff (no jitter,
// burst 100 in 60s), outputs discarded.
std::string program_yaml(const std::string& name, const std::string& extra = "");

// One loop, the fakes and a real Manager over them; every transition is recorded.
class LoopOwner {
 protected:
  LoopOwner();
  ~LoopOwner();
  uv_loop_t loop_;
};

class World : private LoopOwner {
 public:
  explicit World(cgroup::Version version = cgroup::Version::v2);
  ~World();

  struct Seen {
    std::string program;
    supervisor::State from, to;
  };

  // Loads a `programs:` body and starts the manager with it.
  void start(const std::string& programs_yaml);
  supervisor::ReloadResult reload(const std::string& programs_yaml);
  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Runs the loop for a while whatever happens (to show that something does not happen).
  void run_for(std::chrono::milliseconds duration);

  supervisor::ProgramRunner& runner(const std::string& name);
  supervisor::ProgramStatus status(const std::string& name);
  // The public state in status.
  supervisor::State shown(const std::string& name) { return status(name).state; }
  // The table states the program entered, in order.
  std::vector<supervisor::State> entered(const std::string& name) const;
  bool wait_for(const std::string& name, supervisor::State state,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Shuts the manager down and waits for it (the destructor does it too).
  bool shut_down(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  uv_loop_t* loop() { return &loop_; }

  FakeKernel kernel;
  FakeBackend backend;
  FakeLauncher launcher;
  std::unique_ptr<supervisor::Manager> manager;
  std::vector<Seen> transitions;
  // Called after each transition is recorded (tests look at the kernel at that moment).
  std::function<void(const Seen&)> on_transition;
  int shutdowns_done = 0;
};

}  // namespace climits::fake
