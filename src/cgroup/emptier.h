#pragma once
// Empties a program's cgroup, and removes it if asked, as a continuation on the loop: one kill
// pass now, then again on a timer (1 ms, doubling up to 100 ms) until nothing is listed, then
// (remove) the directories. Nothing here ever sleeps: processes that cannot die at once
// (frozen, in uninterruptible sleep) delay only their own program, while the loop serves
// everything else. It keeps trying for as long as it takes; `on_slow` is told once when the
// cgroup is still not empty kKillPatience after the first pass, so the supervisor can say so.
#include <uv.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "cgroup/backend.h"
#include "util/result.h"
#include "util/uv_handle.h"

namespace climits::cgroup {

class Emptier {
 public:
  // Called once at the end: success, or an error that retrying would not cure (the procs file
  // unreadable, rmdir refused for another reason than EBUSY).
  using Done = std::function<void(Result<void>)>;
  using Slow = std::function<void(std::size_t still_listed)>;

  Emptier(uv_loop_t* loop, Backend& backend, std::string program, Slow on_slow);

  // Kills everything in the cgroup but `spare` (0: none); `done` once nothing else is listed.
  // A call while busy replaces the earlier request (its `done` is not called).
  void empty(pid_t spare, Done done);
  // Empties the cgroup (nothing spared), then removes it.
  void remove(Done done);
  // The process spared so far must go too (it was killed): the emptying waits for it.
  void spare_nothing() { spare_ = 0; }
  // Stops trying; `done` is not called.
  void cancel();
  bool busy() const { return static_cast<bool>(done_); }

 private:
  void begin(pid_t spare, bool remove, Done done);
  void step();
  void finish(Result<void> outcome);

  Backend& backend_;
  std::string program_;
  Slow on_slow_;
  Timer timer_;
  Done done_;
  pid_t spare_ = 0;
  bool remove_ = false;
  int round_ = 0;
  bool told_slow_ = false;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace climits::cgroup
