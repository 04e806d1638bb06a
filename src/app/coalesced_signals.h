#pragma once
// The manager's own signals (SIGTERM, SIGINT, SIGHUP, SIGUSR1), brought to the loop coalesced.
//
// libuv's uv_signal writes one message per delivery into a pipe it shares with the SIGCHLD
// that reports children's exits; a flood of SIGHUP or SIGUSR1 (a logrotate loop, a script)
// fills that pipe, and libuv then drops messages, an exit among them, and the program whose
// exit was lost would wait for it forever. Here a delivery only sets a bit and wakes the loop
// through a uv_async, which coalesces: a flood costs one wake-up and one line per signal
// kind, and libuv's pipe carries SIGCHLD alone (whose messages are interchangeable: any one
// of them reaps every exited child).
#include <uv.h>

#include <csignal>
#include <functional>

namespace climits::app {

class CoalescedSignals {
 public:
  // Told each signal that arrived since the last call, once, in a fixed order: SIGHUP,
  // SIGUSR1, SIGTERM, SIGINT (the order in which the kernel delivers them when they are
  // pending together).
  using Callback = std::function<void(int signal)>;

  CoalescedSignals() = default;
  CoalescedSignals(const CoalescedSignals&) = delete;
  CoalescedSignals& operator=(const CoalescedSignals&) = delete;

  // Installs the handlers (one instance per process).
  void start(uv_loop_t* loop, Callback callback);
  // Blocks the signals for good, then closes the handle (its close callback runs on the
  // loop's next turn). One arriving from here on stays pending and goes with the process: a
  // logrotate or a reload sent together with a stop must not turn a clean exit into a death
  // by signal.
  void close();

  static constexpr int kNumbers[4] = {SIGHUP, SIGUSR1, SIGTERM, SIGINT};

 private:
  uv_async_t async_{};
  Callback callback_;
};

}  // namespace climits::app
