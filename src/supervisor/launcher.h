#pragma once
// Starts one run of a program with uv_spawn, through the climits-exec helper, so the process
// is in its cgroup(s), with its user, umask and directory, before its first instruction.
// The helper reports a failure before exec on a close-on-exec pipe, which the launcher keeps
// (StatusReports) until the process's exit asks for it.
#include <sys/resource.h>
#include <uv.h>

#include <chrono>
#include <string>
#include <vector>

#include "config/model.h"
#include "supervisor/status_reports.h"
#include "util/result.h"

namespace climits::supervisor {

struct Launch {
  uv_process_t* process;  // owned by the caller: uv_close it after its exit callback
  int pid;
  // Read ends of the output pipes for streams that go to a file (nullptr otherwise; a merged
  // stderr shares stdout's pipe). Owned by the caller, ready for drain_into().
  uv_pipe_t* stdout_pipe = nullptr;
  uv_pipe_t* stderr_pipe = nullptr;
  // A gated launch: the write end of the gate. One byte lets the helper exec the program;
  // closing it makes the helper exit 0 (climits_exec.c, --gate).
  int gate_fd = -1;
};

enum class Gate { none, held };

class Launcher {
 public:
  // `nofile_soft`: the file limit programs get (the manager raises its own).
  Launcher(uv_loop_t* loop, std::string helper_path, rlim_t nofile_soft);

  // `data` is stored in process->data for `on_exit`. Gate::held: the helper does everything
  // but the exec, then waits for Launch::gate_fd.
  Result<Launch> launch(const config::Program& program, const std::vector<std::string>& entry_files,
                        uv_exit_cb on_exit, void* data, Gate gate = Gate::none);

  // At the exit of `pid`: what its helper reported before exec (nothing if exec succeeded).
  std::optional<std::string> take_spawn_error(int pid);
  // The exit of `pid` will not be asked about (its runner is gone).
  void forget(int pid) { reports_.forget(pid); }
  // Status pipes still open (tests: they must not pile up).
  std::size_t open_status_pipes() const { return reports_.open_pipes(); }

  const std::string& helper_path() const { return helper_path_; }

 private:
  uv_loop_t* loop_;
  std::string helper_path_;
  rlim_t nofile_soft_;
  std::vector<std::string> base_environment_;  // the manager's own, taken once
  StatusReports reports_;
};

// SIGKILLs a child that is not reaped yet and waits, up to `patience`, until it has exited,
// without reaping it: libuv reaps it and calls its exit callback as usual. A process that has
// exited is no longer listed in its cgroup, so a cancelled staged helper is gone before its
// program is said to be stopped. One blocked at its gate exits at once.
Result<void> kill_child_and_wait(int pid, std::chrono::milliseconds patience);

// Where the helper is: beside the running binary (a build tree), else the install location.
Result<std::string> find_helper();

}  // namespace climits::supervisor
