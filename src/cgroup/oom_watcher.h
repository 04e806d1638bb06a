#pragma once
// Tells the supervisor, through the libuv loop and without polling, that the kernel OOM-killed
// something in a program's cgroup. The kernel only says "something happened" (an eventfd
// tick on v1, an inotify event on memory.events on v2); the watcher then reads the cgroup's
// oom_kill counter and reports only real growth, so spurious or merged events do no harm.
#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "util/result.h"
#include "util/uv_handle.h"

namespace climits::cgroup {

class OomWatcher {
 public:
  // total: the cgroup's oom_kill counter now; added: kills since the last report.
  using Callback = std::function<void(std::uint64_t total, std::uint64_t added)>;
  using CounterReader = std::function<Result<std::uint64_t>()>;

  // v2: watch a file (memory.events) for modification with inotify.
  static Result<std::unique_ptr<OomWatcher>> on_file_change(uv_loop_t* loop,
                                                            const std::string& path,
                                                            CounterReader read, Callback callback);
  // v1: watch an eventfd the backend registered with cgroup.event_control (takes ownership).
  static Result<std::unique_ptr<OomWatcher>> on_eventfd(uv_loop_t* loop, int eventfd,
                                                        CounterReader read, Callback callback);

  ~OomWatcher();
  OomWatcher(const OomWatcher&) = delete;
  OomWatcher& operator=(const OomWatcher&) = delete;

  std::uint64_t last_count() const { return last_count_; }

  // v1 only: called at each notification, before the kill is counted. v1 notifies when the
  // cgroup runs out of memory, before the kernel has picked and killed a victim, so this is
  // the earliest sign of an OOM kill (and, rarely, of one that reclaim averted after all).
  // v2 notifies only once the kill is counted: the callback above is as early there.
  void on_warning(std::function<void()> warning) { warning_ = std::move(warning); }

  // Re-reads the counter now and reports growth (used by the supervisor at a program's exit,
  // so the order of exit and OOM event does not matter).
  void check_now();

 private:
  // When the kernel's notice comes: v1 notifies as the cgroup runs out of memory, before a
  // victim is killed and counted (so the counter is re-read a few times, and the warning
  // callback has a moment to act); v2 notifies once the kill is counted.
  enum class Notice { before_the_kill, after_the_kill };
  OomWatcher(uv_loop_t* loop, CounterReader read, Callback callback, Notice notice);
  void read_baseline();
  void on_kernel_event();

  CounterReader read_;
  Callback callback_;
  std::function<void()> warning_;
  std::uint64_t last_count_ = 0;
  int retries_left_ = 0;
  Notice notice_;
  int eventfd_ = -1;
  // The kernel's source, one of the two; freed in its close callback, after the watcher is gone.
  uv_poll_t* poll_ = nullptr;
  uv_fs_event_t* fs_event_ = nullptr;
  Timer retry_timer_;
};

}  // namespace climits::cgroup
