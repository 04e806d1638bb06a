#include "tests/support/run_loop.h"

namespace climits::test {

bool run_loop_until(uv_loop_t* loop, const std::function<bool()>& done,
                    std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  uv_timer_t tick;
  uv_timer_init(loop, &tick);
  // The tick only bounds how long the test waits; the code under test never polls.
  uv_timer_start(
      &tick, [](uv_timer_t*) {}, 5, 5);
  while (!done() && std::chrono::steady_clock::now() < deadline) uv_run(loop, UV_RUN_ONCE);
  uv_timer_stop(&tick);
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  uv_run(loop, UV_RUN_NOWAIT);
  return done();
}

}  // namespace climits::test
