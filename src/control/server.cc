#include "control/server.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <exception>

#include "control/protocol.h"

namespace climits::control {

namespace {
constexpr std::size_t kReadBufferBytes = 64 * 1024;
}  // namespace

struct Server::Connection : StreamOutput {
  explicit Connection(Server* owner) : server(owner) {}

  void push(std::string text, std::uint64_t lines, std::uint64_t payload_bytes) override {
    if (server != nullptr) server->push(*this, std::move(text), lines, payload_bytes);
  }
  void push_first(std::string text) override {
    if (server != nullptr && !closing && !close_after_write) server->write(*this, std::move(text));
  }
  void finish() override {
    if (server != nullptr) server->finish(*this);
  }

  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&pipe); }

  Server* server;  // null once the server is gone (only close callbacks remain)
  uv_pipe_t pipe{};
  uv_timer_t timer{};
  int open_handles = 2;  // freed when both handles' close callbacks ran
  Peer peer;
  std::string input;  // the bytes of an incomplete request line
  int writes_in_flight = 0;
  bool close_after_write = false;
  bool closing = false;
  // Once a request started a stream: its source, stopped when the connection closes and
  // freed with the connection.
  std::unique_ptr<Stream> source;
  // SlowReader::skip: lines dropped since the client fell behind, for the marker.
  bool skipping = false;
  std::uint64_t skipped_lines = 0;
  std::uint64_t skipped_bytes = 0;
};

namespace {

// A response on its way out: the bytes live until the write callback.
struct Write {
  uv_write_t request{};
  std::string bytes;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::start(uv_loop_t* loop, Listener listener, AccessRule rule,
                                              Respond respond) {
  std::unique_ptr<Server> server(
      new Server(loop, std::move(listener), std::move(rule), std::move(respond)));
  int fd = server->listener_.release_fd();
  server->spare_fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (server->spare_fd_ < 0) {
    int error = errno;
    ::close(fd);
    return Error::from_errno(error, "duplicating the control socket " + server->path());
  }
  if (int error = server->listen_on(fd); error != 0)
    return Error{-error,
                 "listening on the control socket " + server->path() + ": " + uv_strerror(error)};
  return server;
}

// Takes a descriptor of the listening socket onto the loop (it is closed on failure).
int Server::listen_on(int fd) {
  socket_ = new uv_pipe_t;
  uv_pipe_init(loop_, socket_, 0);
  socket_->data = this;
  int error = uv_pipe_open(socket_, fd);
  if (error != 0) ::close(fd);
  if (error == 0)
    error = uv_listen(reinterpret_cast<uv_stream_t*>(socket_), SOMAXCONN,
                      [](uv_stream_t* socket, int status) noexcept {
                        if (socket->data != nullptr)
                          static_cast<Server*>(socket->data)->on_connection(status);
                      });
  if (error != 0) close_socket();
  return error;
}

// Takes the listening handle off the loop (the socket itself stays open in spare_fd_).
void Server::close_socket() {
  if (socket_ == nullptr) return;
  close_and_delete(socket_);
  socket_ = nullptr;
}

Server::Server(uv_loop_t* loop, Listener listener, AccessRule rule, Respond respond)
    : loop_(loop),
      listener_(std::move(listener)),
      rule_(std::move(rule)),
      respond_(std::move(respond)),
      read_buffer_(new char[kReadBufferBytes]),
      pause_timer_(loop, [this] { resume_accepting(); }) {}

Server::~Server() {
  auto open = connections_;
  for (Connection* connection : open) {
    close(*connection);
    connection->server = nullptr;  // pending writes are cancelled after this
  }
  close_socket();
  if (spare_fd_ >= 0) ::close(spare_fd_);
  // listener_ removes the socket file as it goes.
}

// libuv answers EMFILE itself by closing pending connections with a spare descriptor; it
// calls back with EMFILE only when that spare is unusable (ENFILE, or a limit lowered below
// it), and then again at once, forever, as long as a client waits. So the socket leaves the
// loop for a second (at most one warning a minute), which ends that loop.
void Server::pause_accepting(int status) {
  auto now = std::chrono::steady_clock::now();
  if (last_pause_warning_ == std::chrono::steady_clock::time_point{} ||
      now - last_pause_warning_ >= std::chrono::minutes(1)) {
    last_pause_warning_ = now;
    spdlog::warn(
        "control: cannot accept connections: {}; trying again every second, clients "
        "wait (at most one such warning a minute)",
        uv_strerror(status));
  }
  close_socket();  // already closed when taking it back failed
  pause_timer_.start(std::chrono::seconds(1));
}

void Server::resume_accepting() {
  int fd = ::fcntl(spare_fd_, F_DUPFD_CLOEXEC, 0);
  int error = fd < 0 ? -errno : listen_on(fd);
  if (error != 0) pause_accepting(error);  // still out of descriptors
}

void Server::on_connection(int status) {
  if (status == UV_EMFILE || status == UV_ENFILE) {
    pause_accepting(status);
    return;
  }
  if (status < 0) {
    spdlog::warn("control: accepting a connection: {}", uv_strerror(status));
    return;
  }
  auto* connection = new Connection(this);
  uv_pipe_init(loop_, &connection->pipe, 0);
  uv_timer_init(loop_, &connection->timer);
  connection->pipe.data = connection;
  connection->timer.data = connection;
  connections_.insert(connection);
  if (int error = uv_accept(reinterpret_cast<uv_stream_t*>(socket_), connection->stream());
      error != 0) {
    spdlog::warn("control: accepting a connection: {}", uv_strerror(error));
    close(*connection);
    return;
  }
  uv_os_fd_t fd = -1;
  uv_fileno(reinterpret_cast<uv_handle_t*>(&connection->pipe), &fd);
  auto peer = peer_of(fd);
  if (!peer) {
    spdlog::warn("control: refusing a connection: {}", peer.error().message);
    refuse(*connection, "cannot identify the caller: " + peer.error().message);
    return;
  }
  connection->peer = *peer;
  if (auto why = refusal(rule_, connection->peer)) {
    spdlog::warn("control: refused a connection from uid {} gid {} (pid {}): {}", peer->uid,
                 peer->gid, peer->pid, *why);
    refuse(*connection, *why);
    return;
  }
  if (connections_.size() > kMaxConnections) {
    spdlog::warn("control: refused a connection from uid {} (pid {}): already {} connections",
                 peer->uid, peer->pid, kMaxConnections);
    refuse(*connection, "too many control connections (" + std::to_string(kMaxConnections) +
                            "); try again later");
    return;
  }
  spdlog::debug("control: connection from uid {} (pid {})", peer->uid, peer->pid);
  uv_read_start(
      connection->stream(),
      [](uv_handle_t* handle, std::size_t, uv_buf_t* buffer) noexcept {
        auto* self = static_cast<Connection*>(handle->data);
        *buffer = uv_buf_init(self->server->read_buffer_.get(), kReadBufferBytes);
      },
      [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buffer) noexcept {
        auto* self = static_cast<Connection*>(stream->data);
        if (self->server != nullptr) self->server->on_read(*self, nread, buffer);
      });
}

void Server::on_read(Connection& connection, ssize_t nread, const uv_buf_t* buffer) {
  if (connection.closing || nread == 0) return;
  if (connection.source) {
    // A stream reads nothing more: what comes is ignored, and the end of the client's side
    // (it closed, or shut down sending) ends the stream, unless the stream has ended
    // already and its last lines are on their way.
    if (nread < 0 && !connection.close_after_write) close(connection);
    return;
  }
  if (nread < 0) {
    // The client is done sending (or gone). A last request without its '\n' still counts,
    // so that `printf '{"cmd":"status"}' | nc -U SOCKET` works; answers already queued are
    // still delivered.
    uv_read_stop(connection.stream());
    if (nread == UV_EOF && !connection.input.empty() &&
        connection.input.size() <= kMaxRequestBytes + 1) {
      std::string last = std::move(connection.input);
      connection.input.clear();
      serve(connection, last);
    }
    connection.input.clear();
    if (connection.closing) return;
    if (connection.writes_in_flight == 0)
      close(connection);
    else
      connection.close_after_write = true;
    return;
  }

  std::size_t scanned = connection.input.size();
  connection.input.append(buffer->base, static_cast<std::size_t>(nread));
  std::size_t begin = 0;
  for (;;) {
    std::size_t newline = connection.input.find('\n', scanned);
    if (newline == std::string::npos) break;
    std::string_view line(connection.input.data() + begin, newline - begin);
    begin = scanned = newline + 1;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.size() > kMaxRequestBytes) {
      refuse(connection, "request longer than " + std::to_string(kMaxRequestBytes) +
                             " bytes; closing the connection");
      return;
    }
    serve(connection, line);
    if (connection.closing || connection.close_after_write) return;
    if (connection.source) {
      // Anything after a streaming request is not read: the connection is the stream's.
      connection.input.clear();
      connection.input.shrink_to_fit();
      return;
    }
  }
  connection.input.erase(0, begin);
  // One byte more than a request may be: the '\r' of a "\r\n".
  if (connection.input.size() > kMaxRequestBytes + 1) {
    refuse(connection, "request longer than " + std::to_string(kMaxRequestBytes) +
                           " bytes; closing the connection");
    return;
  }
  if (connection.input.empty() && connection.input.capacity() > 4096)
    connection.input.shrink_to_fit();
  rearm(connection);
}

void Server::serve(Connection& connection, std::string_view line) {
  Answer answer;
  try {
    answer = respond_(line, connection.peer);
  } catch (const std::exception& e) {
    // Library code does not throw; should a bug let something through, the client gets an
    // error and the manager keeps running.
    spdlog::error("control: answering a request: {}", e.what());
    answer = Answer{to_line(error_response(std::string("internal error: ") + e.what())), nullptr};
  }
  answer.line += '\n';
  send(connection, std::move(answer.line));
  if (answer.stream && !connection.closing) begin_stream(connection, std::move(answer.stream));
}

void Server::begin_stream(Connection& connection, std::unique_ptr<Stream> stream) {
  connection.source = std::move(stream);
  rearm(connection);  // a stream is exempt from the stall timeout
  spdlog::debug("control: uid {} (pid {}) streams", connection.peer.uid, connection.peer.pid);
  connection.source->start(connection);
}

// The stream's slow-reader rule (stream.h) decides what happens beyond the cap; nothing here
// ever waits for the client.
void Server::push(Connection& connection, std::string text, std::uint64_t lines,
                  std::uint64_t payload_bytes) {
  if (connection.closing || connection.close_after_write || !connection.source) return;
  std::size_t queued = uv_stream_get_write_queue_size(connection.stream());
  std::size_t cap = connection.source->unsent_cap();
  bool over = queued > 0 && queued + text.size() > cap;
  if (connection.source->slow_reader() == SlowReader::drop) {
    if (over) {
      spdlog::warn(
          "control: dropping a stream reader (uid {}, pid {}) that does not keep up ({} "
          "bytes unsent)",
          connection.peer.uid, connection.peer.pid, queued);
      close(connection);
      return;
    }
    write(connection, std::move(text));
    return;
  }
  if (connection.skipping && queued > cap / 2) over = true;
  if (over) {
    if (!connection.skipping)
      spdlog::debug("control: uid {} (pid {}) falls behind its stream: skipping lines",
                    connection.peer.uid, connection.peer.pid);
    connection.skipping = true;
    connection.skipped_lines += lines;
    connection.skipped_bytes += payload_bytes;
    return;
  }
  end_skipping(connection);
  if (!connection.closing) write(connection, std::move(text));
}

// The client has caught up (half the cap unsent): one marker says what it missed.
void Server::end_skipping(Connection& connection) {
  if (!connection.skipping) return;
  connection.skipping = false;
  std::string marker = skipped_line(connection.skipped_lines, connection.skipped_bytes) + "\n";
  connection.skipped_lines = connection.skipped_bytes = 0;
  write(connection, std::move(marker));
}

void Server::finish(Connection& connection) {
  if (connection.closing || connection.close_after_write) return;
  if (connection.writes_in_flight == 0)
    close(connection);
  else
    connection.close_after_write = true;
  rearm(connection);
}

void Server::send(Connection& connection, std::string line) {
  if (connection.closing) return;
  std::size_t queued = uv_stream_get_write_queue_size(connection.stream());
  if (queued > 0 && queued + line.size() > kMaxPendingBytes) {
    spdlog::warn(
        "control: dropping a client (uid {}, pid {}) that does not read its "
        "responses ({} bytes unsent)",
        connection.peer.uid, connection.peer.pid, queued);
    close(connection);
    return;
  }
  write(connection, std::move(line));
}

void Server::write(Connection& connection, std::string bytes) {
  auto* pending = new Write;
  pending->bytes = std::move(bytes);
  pending->request.data = pending;
  uv_buf_t buffer =
      uv_buf_init(pending->bytes.data(), static_cast<unsigned>(pending->bytes.size()));
  int error = uv_write(&pending->request, connection.stream(), &buffer, 1,
                       [](uv_write_t* request, int status) noexcept {
                         auto* done = static_cast<Write*>(request->data);
                         auto* self = static_cast<Connection*>(request->handle->data);
                         delete done;
                         --self->writes_in_flight;
                         if (self->server != nullptr) self->server->on_written(*self, status);
                       });
  if (error != 0) {
    delete pending;
    spdlog::debug("control: writing to uid {} (pid {}): {}", connection.peer.uid,
                  connection.peer.pid, uv_strerror(error));
    close(connection);
    return;
  }
  ++connection.writes_in_flight;
  rearm(connection);
}

void Server::on_written(Connection& connection, int status) {
  if (connection.closing) return;
  if (status < 0) {
    spdlog::debug("control: writing to uid {} (pid {}): {}", connection.peer.uid,
                  connection.peer.pid, uv_strerror(status));
    close(connection);
    return;
  }
  if (connection.close_after_write && connection.writes_in_flight == 0) {
    close(connection);
    return;
  }
  if (connection.skipping &&
      uv_stream_get_write_queue_size(connection.stream()) <= connection.source->unsent_cap() / 2)
    end_skipping(connection);
  rearm(connection);
}

// One error line, then the connection is closed once it is written; nothing more is read.
void Server::refuse(Connection& connection, const std::string& message) {
  uv_read_stop(connection.stream());
  connection.input.clear();
  send(connection, to_line(error_response(message)) + "\n");
  if (connection.closing) return;
  if (connection.writes_in_flight == 0)
    close(connection);
  else
    connection.close_after_write = true;
}

// The stall timer runs only while the connection holds an incomplete request or unsent
// output; each bit of progress starts it again. An idle connection costs no wake-up.
void Server::rearm(Connection& connection) {
  if (connection.closing) return;
  bool streaming = connection.source && !connection.close_after_write;
  if (streaming || (connection.input.empty() && connection.writes_in_flight == 0)) {
    uv_timer_stop(&connection.timer);
    return;
  }
  uv_timer_start(
      &connection.timer,
      [](uv_timer_t* timer) noexcept {
        auto* self = static_cast<Connection*>(timer->data);
        if (self->server != nullptr) self->server->on_stalled(*self);
      },
      static_cast<std::uint64_t>(kStallTimeout.count()), 0);
}

void Server::on_stalled(Connection& connection) {
  spdlog::warn("control: dropping a client (uid {}, pid {}): no progress for {}s with {}",
               connection.peer.uid, connection.peer.pid, kStallTimeout.count() / 1000,
               connection.writes_in_flight > 0 ? "responses it does not read"
                                               : "an incomplete request line");
  close(connection);
}

void Server::close(Connection& connection) {
  if (connection.closing) return;
  connection.closing = true;
  connections_.erase(&connection);
  // The stream stops listening now; the object goes with the connection, in the close
  // callback (this may run inside one of its own callbacks).
  if (connection.source) connection.source->stop();
  auto free_handle = [](uv_handle_t* handle) noexcept {
    auto* self = static_cast<Connection*>(handle->data);
    if (--self->open_handles == 0) delete self;
  };
  uv_close(reinterpret_cast<uv_handle_t*>(&connection.pipe), free_handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&connection.timer), free_handle);
}

}  // namespace climits::control
