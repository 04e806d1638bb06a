#pragma once
// A PSI trigger on a cgroup's memory.pressure (cgroup v2), watched on the libuv loop: the
// kernel wakes the descriptor with POLLPRI when some tasks of the cgroup were stalled on
// memory for longer than `stall` within `window`, at most once per window. No timer, no
// polling of the file (docs/configuration.md, memory.pressure).
#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "util/result.h"

namespace climits::cgroup {

class PressureWatch {
 public:
  // Opens `path` (a memory.pressure file), writes the trigger "some <stall> <window>" in
  // microseconds and polls it; `on_fire` runs on the loop at each crossing.
  static Result<std::unique_ptr<PressureWatch>> open(uv_loop_t* loop, const std::string& path,
                                                     std::chrono::microseconds stall,
                                                     std::chrono::microseconds window,
                                                     std::function<void()> on_fire);
  ~PressureWatch();
  PressureWatch(const PressureWatch&) = delete;
  PressureWatch& operator=(const PressureWatch&) = delete;

 private:
  PressureWatch(int fd, std::function<void()> on_fire) : fd_(fd), on_fire_(std::move(on_fire)) {}
  void on_ready();

  int fd_;
  uv_poll_t* poll_ = nullptr;
  std::function<void()> on_fire_;
};

}  // namespace climits::cgroup
