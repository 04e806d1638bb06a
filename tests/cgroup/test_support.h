#pragma once
// Helpers for the cgroup tests: a private cgroup for the whole test process, children that
// join a program's cgroup before doing anything, and waiting for events on a libuv loop.
#include <sys/types.h>
#include <uv.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "cgroup/backend.h"
#include "cgroup/layout.h"
#include "tests/support/run_loop.h"

namespace climits::test {

// The layout as detected, with the test process moved into a fresh child of its own
// cgroup(s); `own_dir()` of the returned layout is that private cgroup.
const cgroup::Layout& private_layout();

// Whether this run is inside the cgroup v2 VM (tests/vm/run.sh sets CLIMITS_IN_VM=1).
bool in_vm();

// Forks a child that writes its pid into each entry file, then runs `body` and exits with
// its result. The child never returns into the test.
pid_t spawn_in(const std::vector<std::string>& entry_files, const std::function<int()>& body);

// Allocates and touches memory in 1 MiB steps until `mib` MiB (or forever if 0), then
// sleeps; returns only if allocation fails.
int allocate_and_hold(std::size_t mib);

// Allocates `bytes` and writes every page, in a way the compiler cannot optimise away; the
// memory is never freed.
void allocate_touched(std::size_t bytes);

// Forks a child into the cgroup (spawn_in) that allocates and touches `bytes`, then pauses
// for good; returns its pid once it holds them, or -1 if it died first.
pid_t spawn_holding(const std::vector<std::string>& entry_files, std::size_t bytes);

// Blocks until `pid` exits (waitpid) and returns its wait status.
int wait_exit(pid_t pid);

bool is_alive(pid_t pid);

// Watches a child's exit on the loop through a pidfd; records the moment it became readable.
class ExitWatch {
 public:
  ExitWatch(uv_loop_t* loop, pid_t pid);
  ~ExitWatch();
  bool exited() const { return exited_; }
  std::chrono::steady_clock::time_point when() const { return when_; }
  int status() const { return status_; }

 private:
  pid_t pid_;
  int pidfd_;
  uv_poll_t* poll_;
  bool exited_ = false;
  int status_ = 0;
  std::chrono::steady_clock::time_point when_;
};

// A unique program name per test, so failed runs never collide with the next.
std::string unique_name(const std::string& base);

}  // namespace climits::test
