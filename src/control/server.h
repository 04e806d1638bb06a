#pragma once
// The control socket on the daemon's loop: accepts connections, refuses peers the access rule
// does not allow (one error line, then the connection is closed), splits what a client sends
// into lines and answers each line with one line, in order.
//
// Nothing a client does can hold up the loop or grow without bound:
// - a request line is at most kMaxRequestBytes; a longer one gets an error and the
//   connection is closed;
// - unsent responses are capped at kMaxPendingBytes per connection (a single larger response
//   is still sent): a client that sends requests and does not read the answers is dropped;
// - a connection holding an incomplete request line or unsent output for kStallTimeout
//   without progress is dropped;
// - at most kMaxConnections at a time; one more gets an error and is closed.
// A request answered with a stream (stream.h) turns its connection into that stream: nothing
// more is read from it but the end (a client that closes or shuts down its side ends the
// stream), the stall timeout no longer applies (the stream's own slow-reader rule does), and
// it still counts as a connection.
// Handles follow the loop's rules: `data` points to the owner, callbacks are noexcept bridges,
// memory is freed in close callbacks.
#include <uv.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

#include "control/access.h"
#include "control/listener.h"
#include "control/stream.h"
#include "util/result.h"
#include "util/uv_handle.h"

namespace climits::control {

class Server {
 public:
  static constexpr std::size_t kMaxPendingBytes = 256 * 1024;
  static constexpr std::size_t kMaxConnections = 256;
  static constexpr std::chrono::milliseconds kStallTimeout{30000};

  // Answers one request line (without '\n') with one response line (without '\n'), and
  // perhaps a stream that follows it.
  using Respond = std::function<Answer(std::string_view request, const Peer& peer)>;

  // Takes the bound socket onto the loop; connections are served once the loop runs.
  static Result<std::unique_ptr<Server>> start(uv_loop_t* loop, Listener listener, AccessRule rule,
                                               Respond respond);
  // Closes every connection and the socket, and removes the socket file.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  const std::string& path() const { return listener_.path(); }

 private:
  struct Connection;

  Server(uv_loop_t* loop, Listener listener, AccessRule rule, Respond respond);
  void on_connection(int status);
  void on_read(Connection& connection, ssize_t nread, const uv_buf_t* buffer);
  void on_written(Connection& connection, int status);
  void on_stalled(Connection& connection);
  void serve(Connection& connection, std::string_view line);
  void send(Connection& connection, std::string line);
  void write(Connection& connection, std::string bytes);
  void begin_stream(Connection& connection, std::unique_ptr<Stream> stream);
  void push(Connection& connection, std::string text, std::uint64_t lines,
            std::uint64_t payload_bytes);
  void end_skipping(Connection& connection);
  void finish(Connection& connection);
  void refuse(Connection& connection, const std::string& message);
  void rearm(Connection& connection);
  void close(Connection& connection);
  int listen_on(int fd);
  void close_socket();
  void pause_accepting(int status);
  void resume_accepting();

  uv_loop_t* loop_;
  Listener listener_;
  AccessRule rule_;
  Respond respond_;
  uv_pipe_t* socket_ = nullptr;  // null while accepting is paused
  // Out of descriptors, libuv can call on_connection() with EMFILE in a loop: the socket then
  // leaves the loop for a second. This duplicate keeps it listening meanwhile (clients wait
  // in the backlog) and is what a new handle is made from.
  int spare_fd_ = -1;
  std::chrono::steady_clock::time_point last_pause_warning_{};
  std::unordered_set<Connection*> connections_;
  // Reads are handled one at a time on the loop, so one buffer serves every connection;
  // only the bytes of an incomplete line are kept per connection.
  std::unique_ptr<char[]> read_buffer_;
  Timer pause_timer_;  // accepting again after a pause for want of descriptors
};

}  // namespace climits::control
