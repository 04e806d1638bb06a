#include "supervisor/events.h"

#include <algorithm>

namespace climits::supervisor {

void Events::subscribe(EventListener* listener) {
  listeners_.push_back(listener);
}

void Events::unsubscribe(EventListener* listener) {
  listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), listener), listeners_.end());
}

void Events::publish(EventBody body) {
  if (listeners_.empty()) return;
  ManagerEvent event{std::chrono::system_clock::now(), std::move(body)};
  // A listener may leave (or make another leave) while it is told: each is looked up again.
  auto snapshot = listeners_;
  for (EventListener* listener : snapshot)
    if (std::find(listeners_.begin(), listeners_.end(), listener) != listeners_.end())
      listener->on_event(event);
}

}  // namespace climits::supervisor
