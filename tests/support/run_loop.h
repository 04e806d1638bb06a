#pragma once
// Drives a libuv loop in a test until a condition holds: the one way every in-process test
// waits (the unit tests on the fake kernel, the cgroup and supervisor tests on the real one).
#include <uv.h>

#include <chrono>
#include <functional>

namespace climits::test {

// Runs `loop` until `done()` or `timeout` (a hang guard, never a measurement); returns whether
// done() became true.
bool run_loop_until(uv_loop_t* loop, const std::function<bool()>& done,
                    std::chrono::milliseconds timeout);

}  // namespace climits::test
