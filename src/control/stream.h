#pragma once
// A control connection turned into a stream of lines the manager pushes (`events`, `logs`).
// The handler answers a streaming request with its first line and a Stream; the server sends
// the line, then hands the Stream the connection's output (StreamOutput) and owns it until
// the connection closes.
//
// A client that does not read must not slow the manager: what it has not read is capped (each
// stream says how much: unsent_cap()), and each stream says what happens beyond the cap:
// - drop: the connection is closed (events: a listener must see every event or none);
// - skip: lines are dropped until the client has caught up (half the cap unsent), then one
//   marker line says how many lines and bytes were skipped (logs: output goes on).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace climits::control {

enum class SlowReader { drop, skip };

class StreamOutput {
 public:
  // Queues whole lines, each ending in '\n': `lines` of them, carrying `payload_bytes` of
  // program output (what a skip marker counts). Nothing happens once the connection is
  // closing; the stream learns of it through stop().
  virtual void push(std::string text, std::uint64_t lines = 1, std::uint64_t payload_bytes = 0) = 0;
  // Queues lines whatever is unsent, the cap and its rule aside: for what a stream sends
  // first, bounded by the stream itself (the tail of a logs request, which a large first
  // line still on its way must not make skip).
  virtual void push_first(std::string text) = 0;
  // Nothing more comes: what is queued is delivered, then the connection is closed.
  virtual void finish() = 0;

 protected:
  virtual ~StreamOutput() = default;
};

class Stream {
 public:
  virtual ~Stream() = default;
  virtual SlowReader slow_reader() const = 0;
  // The most unsent bytes the connection may hold (one larger push into an empty queue, such
  // as the tail of a logs request, is still sent).
  virtual std::size_t unsent_cap() const = 0;
  // Once, right after the first line was queued: lines may be pushed from now on (start()
  // itself may push everything and finish()).
  virtual void start(StreamOutput& output) = 0;
  // Once, when the connection closes (the client went away, was dropped, or the manager shuts
  // down): stop listening. Called before the stream is destroyed, which may be later (after
  // the manager), so the destructor must not touch what stop() let go of.
  virtual void stop() = 0;
};

// What a request line gets: a response line (without '\n'), and with `stream` the connection
// carries that stream after it.
struct Answer {
  std::string line;
  std::unique_ptr<Stream> stream;
};

}  // namespace climits::control
