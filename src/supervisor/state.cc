#include "supervisor/state.h"

#include <cstring>

namespace climits::supervisor {

namespace {

struct Cell {
  bool valid;
  Transition transition;
};

constexpr Cell _ = {false, {State::stopped, Action::none}};
constexpr Cell go(State next, Action action = Action::none) {
  return {true, {next, action}};
}

using S = State;
using A = Action;

// The staged replacement's own events leave the state alone in every state.
constexpr Cell forget(State s) {
  return go(s, A::forget_staged);
}

// clang-format off
// Rows: states in enum order. Columns: events in enum order.
constexpr Cell kTable[kStateCount][kEventCount] = {
    //            start                             restart                            settled         stop                               kill                               stop_timeout                   backoff_elapsed           exited                          emptied_restart                    emptied_done                       emptied_give_up                    oom_notice                           stage_expired                    staged_exited        oom_stop                                   oom_kill                             wait            dependencies_met
    /* stopped */ {go(S::starting, A::reset_and_spawn), go(S::starting, A::reset_and_spawn), _,             _,                                 _,                                 _,                             _,                        _,                              _,                                 _,                                 _,                                 _,                                   _,                               forget(S::stopped), _, _, go(S::waiting), _},
    /* starting*/ {_,                               go(S::restarting, A::send_stop_signal), go(S::running), go(S::stopping, A::send_stop_signal), go(S::stopping, A::kill_cgroup), _,                            _,                        go(S::ending, A::end_run),      _,                                 _,                                 _,                                 go(S::starting, A::stage_replacement), go(S::starting, A::cancel_staged), forget(S::starting), go(S::oom_stopping, A::send_stop_signal), go(S::oom_stopping, A::kill_cgroup), _, _},
    /* running */ {_,                               go(S::restarting, A::send_stop_signal), _,             go(S::stopping, A::send_stop_signal), go(S::stopping, A::kill_cgroup), _,                            _,                        go(S::ending, A::end_run),      _,                                 _,                                 _,                                 go(S::running, A::stage_replacement),  go(S::running, A::cancel_staged),  forget(S::running), go(S::oom_stopping, A::send_stop_signal), go(S::oom_stopping, A::kill_cgroup), _, _},
    // An operator's start during backoff skips the rest of the wait.
    /* backoff */ {go(S::starting, A::reset_and_spawn), go(S::starting, A::reset_and_spawn), _,             go(S::stopping, A::empty_cgroup),  go(S::stopping, A::empty_cgroup),  _,                            go(S::starting, A::spawn), _,                             _,                                 _,                                 _,                                 _,                                   _,                               forget(S::backoff), _, _, go(S::waiting), _},
    // Whatever way the process ends while stopping, the program is stopped once its cgroup is empty.
    /* stopping*/ {go(S::restarting),               go(S::restarting),                 _,             _,                                 go(S::stopping, A::kill_cgroup),   go(S::stopping, A::kill_cgroup), _,                      go(S::stopping, A::empty_cgroup), go(S::stopped),                  go(S::stopped),                    go(S::stopped),                    _,                                   _,                               forget(S::stopping), _, go(S::stopping, A::kill_cgroup), _, _},
    /* exited  */ {go(S::starting, A::reset_and_spawn), go(S::starting, A::reset_and_spawn), _,             go(S::stopped),                    _,                                 _,                             _,                        _,                              _,                                 _,                                 _,                                 _,                                   _,                               forget(S::exited), _, _, go(S::waiting), _},
    /* fatal   */ {go(S::starting, A::reset_and_spawn), go(S::starting, A::reset_and_spawn), _,             go(S::stopped),                    _,                                 _,                             _,                        _,                              _,                                 _,                                 _,                                 _,                                   _,                               forget(S::fatal), _, _, go(S::waiting), _},
    // Started, but what it depends on does not hold yet: it starts when it does (the manager
    // judges), and a stop leaves it stopped.
    /* waiting */ {_, _, _, go(S::stopped), go(S::stopped), _, _, _, _, _, _, _, _, forget(S::waiting), _, _, _, go(S::starting, A::reset_and_spawn)},
    // A stop on the way to a start: the start follows once the cgroup is empty.
    /* restarting*/ {_,                             _,                                 _,             go(S::stopping),                   go(S::stopping, A::kill_cgroup),   go(S::restarting, A::kill_cgroup), _,                    go(S::restarting, A::empty_cgroup), go(S::starting, A::reset_and_spawn), go(S::starting, A::reset_and_spawn), go(S::starting, A::reset_and_spawn), _,                           _,                               forget(S::restarting), _, go(S::restarting, A::kill_cgroup), _, _},
    // The rules have judged the exit; the verdict comes with the empty cgroup. An operator
    // who steps in meanwhile overrides it (a staged replacement is then not needed).
    /* ending  */ {go(S::restarting, A::cancel_staged), go(S::restarting, A::cancel_staged), _,          go(S::stopping, A::cancel_staged), go(S::stopping, A::cancel_staged), _,                            _,                        _,                              go(S::backoff),                    go(S::exited),                     go(S::fatal),                      _,                                   _,                               forget(S::ending), _, _},
    // The OOM policy's stop: an operator's word overrides it; the exit is judged by the rules.
    /* oom_stopping*/ {go(S::restarting),           go(S::restarting),                 _,             go(S::stopping),                   go(S::stopping, A::kill_cgroup),   go(S::oom_stopping, A::kill_cgroup), _,                  go(S::ending, A::end_run),      _,                                 _,                                 _,                                 go(S::oom_stopping, A::stage_replacement), go(S::oom_stopping, A::cancel_staged), forget(S::oom_stopping), _, go(S::oom_stopping, A::kill_cgroup), _, _},
};
// clang-format on

constexpr const char* kStateNames[kStateCount] = {"stopped",
                                                  "starting",
                                                  "running",
                                                  "backoff",
                                                  "stopping",
                                                  "exited",
                                                  "fatal",
                                                  "waiting",
                                                  "stopping" /* restarting */,
                                                  "stopping" /* ending */,
                                                  "stopping" /* oom_stopping */};
constexpr const char* kEventNames[kEventCount] = {"start",
                                                  "restart",
                                                  "settled",
                                                  "stop",
                                                  "kill",
                                                  "stop timeout",
                                                  "backoff elapsed",
                                                  "exit",
                                                  "cgroup empty (restart)",
                                                  "cgroup empty (stay down)",
                                                  "cgroup empty (start limit hit)",
                                                  "OOM notice",
                                                  "stage window over",
                                                  "staged replacement exited",
                                                  "OOM kill (oom_policy stop)",
                                                  "OOM kill (oom_policy kill)",
                                                  "waiting for dependencies",
                                                  "dependencies met"};

}  // namespace

std::optional<Transition> transition(State state, Event event) {
  const Cell& cell = kTable[static_cast<int>(state)][static_cast<int>(event)];
  if (!cell.valid) return std::nullopt;
  return cell.transition;
}

State public_state(State state) {
  switch (state) {
    case State::restarting:
    case State::ending:
    case State::oom_stopping:
      return State::stopping;
    default:
      return state;
  }
}

const char* state_name(State state) {
  return kStateNames[static_cast<int>(state)];
}
const char* event_name(Event event) {
  return kEventNames[static_cast<int>(event)];
}

std::optional<State> parse_state(const char* name) {
  // Only the public states have names of their own.
  for (int i = 0; i <= static_cast<int>(State::waiting); ++i)
    if (std::strcmp(name, kStateNames[i]) == 0) return static_cast<State>(i);
  return std::nullopt;
}

bool has_process(State state) {
  switch (state) {
    case State::starting:
    case State::running:
    case State::stopping:
    case State::restarting:
    case State::ending:
    case State::oom_stopping:
      return true;
    default:
      return false;
  }
}

bool at_rest(State state) {
  return state == State::stopped || state == State::exited || state == State::fatal;
}

}  // namespace climits::supervisor
