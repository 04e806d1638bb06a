// The manager's signals reach the loop coalesced, and a flood of them cannot make libuv lose
// a child's exit (it did: its signal pipe, shared with SIGCHLD, filled and dropped messages).
#include "app/coalesced_signals.h"

#include <doctest/doctest.h>
#include <pthread.h>
#include <sched.h>
#include <uv.h>

#include <csignal>
#include <fstream>
#include <string>
#include <vector>

using climits::app::CoalescedSignals;

namespace {

// The state letter of /proc/PID/stat ('Z' once the process exited and is not reaped).
char process_state(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() ? '?' : text[paren + 2];
}

// Gives the signals back to their defaults for the tests that follow.
void restore_defaults() {
  sigset_t set;
  sigemptyset(&set);
  for (int number : CoalescedSignals::kNumbers) {
    std::signal(number, SIG_DFL);
    sigaddset(&set, number);
  }
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace

TEST_CASE("signals: a flood is told once per kind, in a fixed order, and loses no child's exit") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  std::vector<int> told;
  CoalescedSignals signals;
  signals.start(&loop, [&](int signal) { told.push_back(signal); });

  // Each raise runs the handler at once: with one pipe message per delivery, 20000 of them
  // (16 bytes each) would overfill a 64 KiB pipe long before the loop reads it.
  for (int i = 0; i < 20000; ++i) std::raise(i % 3 == 0 ? SIGTERM : i % 3 == 1 ? SIGUSR1 : SIGHUP);

  bool exited = false;
  uv_process_t child{};
  child.data = &exited;
  char* argv[] = {const_cast<char*>("true"), nullptr};
  uv_process_options_t options{};
  options.file = "true";
  options.args = argv;
  options.exit_cb = [](uv_process_t* process, int64_t, int) {
    *static_cast<bool*>(process->data) = true;
  };
  REQUIRE(uv_spawn(&loop, &child, &options) == 0);
  // Once it is a zombie its SIGCHLD was handled (on the return from the read that saw it):
  // libuv's message is in its pipe, or was dropped.
  while (process_state(child.pid) != 'Z') sched_yield();

  uv_run(&loop, UV_RUN_NOWAIT);
  CHECK(exited);
  CHECK(told == std::vector<int>{SIGHUP, SIGUSR1, SIGTERM});

  // Nothing pending: nothing is told again.
  told.clear();
  uv_run(&loop, UV_RUN_NOWAIT);
  CHECK(told.empty());
  std::raise(SIGINT);
  uv_run(&loop, UV_RUN_NOWAIT);
  CHECK(told == std::vector<int>{SIGINT});

  // Closed, the signals stay pending instead of killing or being told.
  signals.close();
  uv_close(reinterpret_cast<uv_handle_t*>(&child), nullptr);
  std::raise(SIGHUP);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(told == std::vector<int>{SIGINT});
  sigset_t pending;
  sigpending(&pending);
  CHECK(sigismember(&pending, SIGHUP) == 1);
  CHECK(uv_loop_close(&loop) == 0);
  // Ignored first, so that the pending one is discarded rather than delivered.
  std::signal(SIGHUP, SIG_IGN);
  restore_defaults();
}
