#include "supervisor/state.h"

#include <cstring>

namespace climits::supervisor {

namespace {

constexpr int kStates = 7;
constexpr int kEvents = 8;

struct Cell {
  bool valid;
  Transition transition;
};

constexpr Cell _ = {false, {State::stopped, Action::none}};
constexpr Cell go(State next, Action action = Action::none) { return {true, {next, action}}; }

using S = State;
using A = Action;

// Rows: states in enum order. Columns: start, settled, stop, stop_timeout, backoff_elapsed,
// exit_restart, exit_done, exit_give_up.
constexpr Cell kTable[kStates][kEvents] = {
    /* stopped  */ {go(S::starting, A::reset_and_spawn), _, _, _, _, _, _, _},
    /* starting */ {_, go(S::running), go(S::stopping, A::send_stop_signal), _, _,
                    go(S::backoff), go(S::exited), go(S::fatal)},
    /* running  */ {_, _, go(S::stopping, A::send_stop_signal), _, _,
                    go(S::backoff), go(S::exited), go(S::fatal)},
    // An explicit start during backoff skips the rest of the wait.
    /* backoff  */ {go(S::starting, A::spawn), _, go(S::stopped), _, go(S::starting, A::spawn),
                    _, _, _},
    // Whatever way the process ends while stopping, the program is stopped.
    /* stopping */ {_, _, _, go(S::stopping, A::kill_cgroup), _,
                    go(S::stopped), go(S::stopped), go(S::stopped)},
    /* exited   */ {go(S::starting, A::reset_and_spawn), _, go(S::stopped), _, _, _, _, _},
    /* fatal    */ {go(S::starting, A::reset_and_spawn), _, go(S::stopped), _, _, _, _, _},
};

constexpr const char* kStateNames[kStates] = {"stopped",  "starting", "running", "backoff",
                                              "stopping", "exited",   "fatal"};
constexpr const char* kEventNames[kEvents] = {
    "start", "settled", "stop", "stop timeout", "backoff elapsed",
    "exit (restart)", "exit (stay down)", "exit (start limit hit)"};

}  // namespace

std::optional<Transition> transition(State state, Event event) {
  const Cell& cell = kTable[static_cast<int>(state)][static_cast<int>(event)];
  if (!cell.valid) return std::nullopt;
  return cell.transition;
}

const char* state_name(State state) { return kStateNames[static_cast<int>(state)]; }
const char* event_name(Event event) { return kEventNames[static_cast<int>(event)]; }

std::optional<State> parse_state(const char* name) {
  for (int i = 0; i < kStates; ++i)
    if (std::strcmp(name, kStateNames[i]) == 0) return static_cast<State>(i);
  return std::nullopt;
}

bool has_process(State state) {
  return state == State::starting || state == State::running || state == State::stopping;
}

}  // namespace climits::supervisor
