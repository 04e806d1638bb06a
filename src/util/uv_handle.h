#pragma once
// Owning libuv handles (after uvw): a handle is allocated on the heap, its `data` points back
// at its owner, callbacks are thin noexcept bridges into the owner's methods, and the memory
// is freed in the close callback, never earlier (libuv touches a closing handle until then).
// The owner may go away first: closing sets `data` to null, so a late callback finds no one.
#include <uv.h>

#include <chrono>
#include <functional>

namespace climits {

// Closes `handle` (initialised, of libuv type Handle) and deletes it once libuv is done.
template <typename Handle>
void close_and_delete(Handle* handle) {
  if (handle == nullptr) return;
  auto* base = reinterpret_cast<uv_handle_t*>(handle);
  base->data = nullptr;
  if (uv_is_closing(base)) return;  // its close callback frees it already
  uv_close(base, [](uv_handle_t* closed) { delete reinterpret_cast<Handle*>(closed); });
}

// A one-shot timer on the loop that calls `on_fire` on the loop.
class Timer {
 public:
  Timer(uv_loop_t* loop, std::function<void()> on_fire);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Fires `delay` from now. The loop's cached time is brought up to date first: libuv counts
  // from the time taken before this iteration's callbacks ran, and work done in them (an exit
  // handled, leftovers killed) would otherwise be taken off the delay.
  void start(std::chrono::milliseconds delay);
  void stop();
  bool active() const;

 private:
  static void fire(uv_timer_t* handle) noexcept;

  uv_timer_t* handle_;
  std::function<void()> on_fire_;
};

}  // namespace climits
