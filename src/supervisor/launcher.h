#pragma once
// Starts one run of a program with uv_spawn, through the climits-exec helper, so the process
// is in its cgroup(s), with its user, umask and directory, before its first instruction.
// The helper reports a failure before exec on a close-on-exec pipe, which the launcher keeps
// (StatusReports) until the process's exit asks for it.
#include <sys/resource.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/model.h"
#include "supervisor/status_reports.h"
#include "util/result.h"

namespace climits::supervisor {

struct Launch {
  int pid;
  // Read ends of the output pipes for streams that go to a file (nullptr otherwise; a merged
  // stderr shares stdout's pipe). Owned by the caller, ready for OutputDrains::drain().
  uv_pipe_t* stdout_pipe = nullptr;
  uv_pipe_t* stderr_pipe = nullptr;
};

enum class Gate {
  none,  // the helper execs the program at once
  held,  // it does everything but the exec, then waits for open_gate() (climits_exec.c, --gate)
};

// The seam between the supervisor and the processes it starts: the runners speak only to
// this, so that their logic runs unchanged against a fake in tests (no root, no processes).
// Every process is named by its pid; the launcher owns whatever handle stands behind it.
class ProcessLauncher {
 public:
  // How process `pid` ended: its exit status, or the signal that killed it (0: none).
  using ExitCallback = std::function<void(int pid, std::int64_t exit_status, int term_signal)>;

  virtual ~ProcessLauncher() = default;

  // Starts one run of `program` in the cgroup(s) whose procs files are `entry_files`;
  // `on_exit` is called on the loop when the process has ended (and was reaped).
  virtual Result<Launch> launch(const config::Program& program,
                                const std::vector<std::string>& entry_files, ExitCallback on_exit,
                                Gate gate = Gate::none) = 0;
  // A held launch execs its program now; false when it is gone already (killed at its gate,
  // its exit not reported yet): it is then not the next run.
  virtual bool open_gate(int pid) = 0;
  // Whether a process of ours has a fatal signal on its way or is past it (exiting, a zombie,
  // gone): the OOM killer's victim is, from the moment its kill is counted.
  virtual bool dying(int pid) = 0;
  // Sends `signal` to a process of ours that has not been reaped (ESRCH is not an error).
  virtual Result<void> send_signal(int pid, int signal) = 0;
  // At the exit of `pid`: what its helper reported before exec (nothing if exec succeeded).
  virtual std::optional<std::string> take_spawn_error(int pid) = 0;
  // Nobody will ask about `pid` again: its exit is not reported (the process is still reaped).
  virtual void forget(int pid) = 0;
};

// Starts processes with uv_spawn through the climits-exec helper.
class Launcher final : public ProcessLauncher {
 public:
  // `nofile_soft`: the file limit programs get (the manager raises its own).
  Launcher(uv_loop_t* loop, std::string helper_path, rlim_t nofile_soft);
  ~Launcher() override;

  Result<Launch> launch(const config::Program& program, const std::vector<std::string>& entry_files,
                        ExitCallback on_exit, Gate gate = Gate::none) override;
  bool open_gate(int pid) override;
  bool dying(int pid) override;
  Result<void> send_signal(int pid, int signal) override;
  std::optional<std::string> take_spawn_error(int pid) override;
  void forget(int pid) override;

  // Status pipes still open (tests: they must not pile up).
  std::size_t open_status_pipes() const { return reports_.open_pipes(); }
  const std::string& helper_path() const { return helper_path_; }

 private:
  // One process of ours, until libuv has reaped it and the handle is closed.
  struct Child {
    uv_process_t handle;
    Launcher* owner;
    ExitCallback on_exit;
    int gate_fd = -1;  // a held launch: the write end of its gate
  };
  static void exited(uv_process_t* handle, std::int64_t exit_status, int term_signal) noexcept;

  uv_loop_t* loop_;
  std::string helper_path_;
  rlim_t nofile_soft_;
  std::vector<std::string> base_environment_;  // the manager's own, taken once
  StatusReports reports_;
  std::unordered_map<int, Child*> children_;  // by pid, until reaped
};

// Where the helper is: beside the running binary (a build tree), else the install location.
Result<std::string> find_helper();

}  // namespace climits::supervisor
