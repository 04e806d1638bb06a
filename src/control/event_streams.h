#pragma once
// The `events` streams: every connection that asked for {"cmd": "events"} gets each event
// of the manager (supervisor/events.h) as one JSON line, encoded once for all of them. A
// reader that falls behind is dropped (SlowReader::drop): it sees every event or is told,
// by the closed connection, that it did not. The hub listens to the manager only while
// someone streams, so events cost nothing while nobody does.
#include <memory>
#include <vector>

#include "control/stream.h"
#include "supervisor/events.h"

namespace climits::control {

class EventStreams : public supervisor::EventListener {
 public:
  explicit EventStreams(supervisor::Events& events);
  ~EventStreams() override;
  EventStreams(const EventStreams&) = delete;
  EventStreams& operator=(const EventStreams&) = delete;

  // A new stream; it receives events once the server starts it.
  std::unique_ptr<Stream> open();
  std::size_t streaming() const { return outputs_.size(); }

  void on_event(const supervisor::ManagerEvent& event) override;

 private:
  class Subscriber;
  void add(StreamOutput* output);
  void remove(StreamOutput* output);

  supervisor::Events& events_;
  std::vector<StreamOutput*> outputs_;
};

}  // namespace climits::control
