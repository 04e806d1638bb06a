#include "control/event_streams.h"

#include <algorithm>

#include "control/protocol.h"

namespace climits::control {

class EventStreams::Subscriber : public Stream {
 public:
  explicit Subscriber(EventStreams* hub) : hub_(hub) {}

  SlowReader slow_reader() const override { return SlowReader::drop; }
  // As for the answers of any client: events are small, a listener that keeps up never
  // holds a fraction of this.
  std::size_t unsent_cap() const override { return 256 * 1024; }
  void start(StreamOutput& output) override {
    output_ = &output;
    hub_->add(output_);
  }
  void stop() override {
    if (output_ != nullptr) hub_->remove(output_);
    output_ = nullptr;
  }

 private:
  EventStreams* hub_;
  StreamOutput* output_ = nullptr;
};

EventStreams::EventStreams(supervisor::Events& events) : events_(events) {}

EventStreams::~EventStreams() {
  if (!outputs_.empty()) events_.unsubscribe(this);
}

std::unique_ptr<Stream> EventStreams::open() {
  return std::make_unique<Subscriber>(this);
}

void EventStreams::add(StreamOutput* output) {
  if (outputs_.empty()) events_.subscribe(this);
  outputs_.push_back(output);
}

void EventStreams::remove(StreamOutput* output) {
  outputs_.erase(std::remove(outputs_.begin(), outputs_.end(), output), outputs_.end());
  if (outputs_.empty()) events_.unsubscribe(this);
}

void EventStreams::on_event(const supervisor::ManagerEvent& event) {
  std::string line = event_line(event) + "\n";
  // A reader dropped for falling behind leaves the list while it is being told.
  auto snapshot = outputs_;
  for (StreamOutput* output : snapshot)
    if (std::find(outputs_.begin(), outputs_.end(), output) != outputs_.end()) output->push(line);
}

}  // namespace climits::control
