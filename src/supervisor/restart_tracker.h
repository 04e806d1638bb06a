#pragma once
// The restart rules, in one place (docs/supervision.md, Restart rules), pure and clock-free
// (times are passed in):
//   policy  always: any exit; on-failure: non-zero code, a signal, an OOM kill or a spawn
//           error; on-oom: only OOM kills; never: none. A stop request is never restarted.
//   backoff the n-th consecutive restart waits min(max, initial × factor^(n-1)), spread by
//           ±jitter; a run that lasted reset_after starts counting from 1 again.
//   limit   more than burst restarts inside interval: give up (fatal) until an operator
//           starts the program again.
#include <chrono>
#include <vector>

#include "config/model.h"
#include "supervisor/exit_info.h"

namespace climits::supervisor {

using Millis = std::chrono::milliseconds;

bool policy_restarts(config::RestartPolicy policy, const ExitInfo& exit);

// The backoff delay before the n-th consecutive restart (n >= 1); random01 in [0, 1).
Millis backoff_delay(const config::BackoffSettings& backoff, int n, double random01);

class RestartTracker {
 public:
  explicit RestartTracker(config::RestartSettings settings) : settings_(std::move(settings)) {}

  struct Decision {
    enum What { restart, stay_down, give_up } what;
    Millis delay{0};  // restart: how long to wait
    int attempt = 0;  // restart: the n of "n-th consecutive restart"
  };

  // `now` is a monotonic time; `run_length` how long the process lived.
  Decision after_exit(const ExitInfo& exit, Millis run_length, Millis now, double random01);

  // An operator's start: the history no longer counts.
  void reset();
  // Reload: new rules apply from the next exit on.
  void update(const config::RestartSettings& settings) { settings_ = settings; }
  const config::RestartSettings& settings() const { return settings_; }
  int consecutive() const { return consecutive_; }

 private:
  config::RestartSettings settings_;
  int consecutive_ = 0;
  std::vector<Millis> recent_restarts_;  // monotonic times, inside limit.interval
};

}  // namespace climits::supervisor
