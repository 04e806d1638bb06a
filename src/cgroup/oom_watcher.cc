#include "cgroup/oom_watcher.h"

#include <unistd.h>

#include "util/uv_handle.h"

namespace climits::cgroup {

namespace {

// On v1 the kernel signals the OOM event just before it picks and kills a victim, so the
// counter may not have grown yet when we read it: re-read a few times, 1 ms, 2 ms, … 64 ms
// apart. This runs only after an event, never periodically.
constexpr int kRetries = 7;

}  // namespace

OomWatcher::OomWatcher(uv_loop_t* loop, CounterReader read, Callback callback, Notice notice)
    : read_(std::move(read)),
      callback_(std::move(callback)),
      notice_(notice),
      retry_timer_(loop, [this] { check_now(); }) {}

// Read after the kernel source is armed, so that a kill between the two is not missed.
void OomWatcher::read_baseline() {
  if (auto count = read_()) last_count_ = *count;
}

OomWatcher::~OomWatcher() {
  if (poll_ != nullptr) uv_poll_stop(poll_);
  if (fs_event_ != nullptr) uv_fs_event_stop(fs_event_);
  close_and_delete(poll_);
  close_and_delete(fs_event_);
  // Closing the eventfd unregisters the v1 event in the kernel.
  if (eventfd_ >= 0) ::close(eventfd_);
}

Result<std::unique_ptr<OomWatcher>> OomWatcher::on_file_change(uv_loop_t* loop,
                                                               const std::string& path,
                                                               CounterReader read,
                                                               Callback callback) {
  // v2 counts the kill before it notifies, and memory.events also changes for high/max
  // events (many per second under memory.high): no re-reads there.
  std::unique_ptr<OomWatcher> watcher(
      new OomWatcher(loop, std::move(read), std::move(callback), Notice::after_the_kill));
  auto* handle = new uv_fs_event_t;
  uv_fs_event_init(loop, handle);
  handle->data = watcher.get();
  watcher->fs_event_ = handle;
  int rc = uv_fs_event_start(
      handle,
      [](uv_fs_event_t* h, const char*, int, int) {
        if (h->data != nullptr) static_cast<OomWatcher*>(h->data)->on_kernel_event();
      },
      path.c_str(), 0);
  if (rc != 0) return Error{-rc, "watching " + path + " with inotify: " + uv_strerror(rc)};
  watcher->read_baseline();
  return watcher;
}

Result<std::unique_ptr<OomWatcher>> OomWatcher::on_eventfd(uv_loop_t* loop, int eventfd,
                                                           CounterReader read, Callback callback) {
  std::unique_ptr<OomWatcher> watcher(
      new OomWatcher(loop, std::move(read), std::move(callback), Notice::before_the_kill));
  watcher->eventfd_ = eventfd;
  auto* handle = new uv_poll_t;
  int rc = uv_poll_init(loop, handle, eventfd);
  if (rc != 0) {
    delete handle;
    return Error{-rc, std::string("watching an OOM eventfd: ") + uv_strerror(rc)};
  }
  handle->data = watcher.get();
  watcher->poll_ = handle;
  rc = uv_poll_start(handle, UV_READABLE, [](uv_poll_t* h, int, int) {
    if (h->data == nullptr) return;
    auto* self = static_cast<OomWatcher*>(h->data);
    std::uint64_t ticks;
    // Drain the eventfd (non-blocking); several OOMs may have been merged into one tick.
    while (::read(self->eventfd_, &ticks, sizeof ticks) == sizeof ticks) {
    }
    self->on_kernel_event();
  });
  if (rc != 0) return Error{-rc, std::string("watching an OOM eventfd: ") + uv_strerror(rc)};
  watcher->read_baseline();
  return watcher;
}

void OomWatcher::on_kernel_event() {
  const bool before_the_kill = notice_ == Notice::before_the_kill;
  retries_left_ = before_the_kill ? kRetries : 0;
  retry_timer_.stop();
  if (before_the_kill && warning_) warning_();
  check_now();
}

void OomWatcher::check_now() {
  auto count = read_();
  // A vanished cgroup (removed while an event was in flight) simply has nothing to report.
  if (count && *count > last_count_) {
    std::uint64_t added = *count - last_count_;
    last_count_ = *count;
    retries_left_ = 0;
    retry_timer_.stop();
    callback_(*count, added);
    return;
  }
  if (count && retries_left_ > 0) {
    std::chrono::milliseconds delay(1ll << (kRetries - retries_left_));
    --retries_left_;
    retry_timer_.start(delay);
  }
}

}  // namespace climits::cgroup
