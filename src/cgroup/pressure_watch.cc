#include "cgroup/pressure_watch.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/uv_handle.h"

namespace climits::cgroup {

Result<std::unique_ptr<PressureWatch>> PressureWatch::open(uv_loop_t* loop, const std::string& path,
                                                           std::chrono::microseconds stall,
                                                           std::chrono::microseconds window,
                                                           std::function<void()> on_fire) {
  int fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return Error::from_errno(errno, path);
  std::string trigger =
      "some " + std::to_string(stall.count()) + " " + std::to_string(window.count());
  // The trigger lives as long as this descriptor: written with the terminating NUL, as the
  // kernel's documentation (Documentation/accounting/psi.rst) does.
  if (::write(fd, trigger.c_str(), trigger.size() + 1) < 0) {
    int saved = errno;
    ::close(fd);
    return Error::from_errno(saved, path + ": writing the trigger \"" + trigger + "\"");
  }
  std::unique_ptr<PressureWatch> watch(new PressureWatch(fd, std::move(on_fire)));
  auto* handle = new uv_poll_t;
  int rc = uv_poll_init(loop, handle, fd);
  if (rc != 0) {
    delete handle;
    return Error{-rc, path + ": " + uv_strerror(rc)};
  }
  handle->data = watch.get();
  watch->poll_ = handle;
  rc = uv_poll_start(handle, UV_PRIORITIZED, [](uv_poll_t* h, int status, int) {
    if (h->data == nullptr) return;
    auto* self = static_cast<PressureWatch*>(h->data);
    if (status < 0) {
      uv_poll_stop(h);
      return;
    }
    self->on_ready();
  });
  if (rc != 0) return Error{-rc, path + ": " + uv_strerror(rc)};
  return watch;
}

void PressureWatch::on_ready() {
  // The kernel also wakes the descriptor (POLLERR | POLLPRI) when the trigger is gone with its
  // cgroup: that is no crossing. Asking poll(2) directly tells the two apart without waiting.
  pollfd check{fd_, POLLPRI, 0};
  if (::poll(&check, 1, 0) == 1 && (check.revents & (POLLERR | POLLNVAL)) != 0) {
    uv_poll_stop(poll_);
    return;
  }
  on_fire_();
}

PressureWatch::~PressureWatch() {
  if (poll_ != nullptr) uv_poll_stop(poll_);
  close_and_delete(poll_);
  // libuv closes the handle on the next loop iteration; the descriptor is ours to close now
  // (uv_poll does not own it, and a closing poll handle no longer watches it).
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace climits::cgroup
