#include "util/uv_handle.h"

namespace climits {

Timer::Timer(uv_loop_t* loop, std::function<void()> on_fire)
    : handle_(new uv_timer_t), on_fire_(std::move(on_fire)) {
  uv_timer_init(loop, handle_);
  handle_->data = this;
}

Timer::~Timer() {
  uv_timer_stop(handle_);
  close_and_delete(handle_);
}

void Timer::start(std::chrono::milliseconds delay) {
  uv_update_time(handle_->loop);
  uv_timer_start(handle_, &Timer::fire, static_cast<std::uint64_t>(delay.count()), 0);
}

void Timer::stop() {
  uv_timer_stop(handle_);
}

bool Timer::active() const {
  return uv_is_active(reinterpret_cast<uv_handle_t*>(handle_)) != 0;
}

void Timer::fire(uv_timer_t* handle) noexcept {
  if (auto* self = static_cast<Timer*>(handle->data)) self->on_fire_();
}

}  // namespace climits
