#pragma once
// What happens to the programs, as it happens, for whoever listens (the control socket's
// `events` streams). The runners and the manager publish; listeners subscribe. Plain data:
// the words and the JSON are the listener's (control/protocol.h). Health events join the
// variant when that feature lands. Publishers check has_listeners() first, so that
// nothing is built while nobody listens.
#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "supervisor/reload_result.h"
#include "supervisor/state.h"

namespace climits::supervisor {

// A transition the log shows, between public states (state_name), with its cause.
struct StateChanged {
  std::string name;
  State from = State::stopped;
  State to = State::stopped;
  std::string cause;
};

// The kernel OOM-killed `added` processes in the program's cgroup; `total` since it started.
struct OomKilled {
  std::string name;
  std::uint64_t added = 0;
  std::uint64_t total = 0;
};

// The program's memory.pressure trigger fired (cgroup v2): `total` crossings so far.
struct MemoryPressure {
  std::string name;
  std::uint64_t total = 0;
};

// A reload that was applied (as far as it went: `result.failed` names the rest).
struct Reloaded {
  ReloadResult result;
};

// A reload that changed nothing: an invalid file, too few descriptors, a shutdown under way.
struct ReloadRefused {
  std::string error;
  std::vector<std::string> errors;
};

using EventBody = std::variant<StateChanged, OomKilled, MemoryPressure, Reloaded, ReloadRefused>;

struct ManagerEvent {
  std::chrono::system_clock::time_point at;
  EventBody body;
};

class EventListener {
 public:
  virtual ~EventListener() = default;
  // On the loop, between two events of the manager; must not block.
  virtual void on_event(const ManagerEvent& event) = 0;
};

class Events {
 public:
  // A listener stays subscribed until unsubscribe(); it may unsubscribe itself, or another,
  // from inside on_event().
  void subscribe(EventListener* listener);
  void unsubscribe(EventListener* listener);
  bool has_listeners() const { return !listeners_.empty(); }
  void publish(EventBody body);

 private:
  std::vector<EventListener*> listeners_;
};

}  // namespace climits::supervisor
