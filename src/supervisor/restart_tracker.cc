#include "supervisor/restart_tracker.h"

#include <algorithm>
#include <cmath>

namespace climits::supervisor {

bool policy_restarts(config::RestartPolicy policy, const ExitInfo& exit) {
  switch (policy) {
    case config::RestartPolicy::always:
      return true;
    case config::RestartPolicy::on_failure:
      return exit.kind != ExitKind::exited || exit.code != 0;
    case config::RestartPolicy::on_oom:
      return exit.kind == ExitKind::oom_killed;
    case config::RestartPolicy::never:
      return false;
  }
  return false;
}

Millis backoff_delay(const config::BackoffSettings& backoff, int n, double random01) {
  double base = static_cast<double>(backoff.initial.count()) *
                std::pow(backoff.factor, static_cast<double>(std::max(n, 1) - 1));
  double capped = std::min(base, static_cast<double>(backoff.max.count()));
  double spread = 1.0 + backoff.jitter * (2.0 * random01 - 1.0);
  return Millis(static_cast<Millis::rep>(std::llround(std::max(0.0, capped * spread))));
}

RestartTracker::Decision RestartTracker::after_exit(const ExitInfo& exit, Millis run_length,
                                                    Millis now, double random01) {
  if (!policy_restarts(settings_.policy, exit)) return {Decision::stay_down};
  if (run_length >= settings_.reset_after) consecutive_ = 0;
  // A vector, not a deque: an empty deque allocates 576 bytes, for every program.
  std::erase_if(recent_restarts_, [&](Millis at) { return now - at >= settings_.limit.interval; });
  if (static_cast<int>(recent_restarts_.size()) >= settings_.limit.burst)
    return {Decision::give_up};
  recent_restarts_.push_back(now);
  ++consecutive_;
  return {Decision::restart, backoff_delay(settings_.backoff, consecutive_, random01),
          consecutive_};
}

void RestartTracker::reset() {
  consecutive_ = 0;
  recent_restarts_.clear();
}

}  // namespace climits::supervisor
