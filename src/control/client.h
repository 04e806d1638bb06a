#pragma once
// climits-ctl's side of the control socket: blocking I/O, one request line out and one
// response line back, with a timeout. Errors come back as one-line messages for the user.
#include <chrono>
#include <csignal>
#include <string>

#include "control/protocol.h"
#include "util/result.h"

namespace climits::control {

class Client {
 public:
  // A socket that does not exist or that nobody listens on is "the manager is not running on
  // PATH"; a permission problem says who may use it.
  static Result<Client> connect(const std::string& path);

  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // Sends one request and waits up to `timeout` for its response: an object with a boolean
  // "ok" (false responses are returned, not turned into errors: the caller reads "error").
  Result<Json> request(const Json& request,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // The same, the response line as it came (without its newline), not yet parsed: for a
  // caller that reads it without a JSON tree (table.h, status_rows).
  Result<std::string> request_line(const Json& request,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Streams (logs, events): after request() returned the first line, each further line as it
  // comes, waiting as long as it takes. The end of the connection is an error with
  // ECONNRESET; SIGINT, SIGTERM or SIGHUP end the wait with EINTR once their handler has set
  // `*interrupted`. The caller keeps those signals blocked: they are let in while waiting.
  Result<std::string> next_line(const volatile std::sig_atomic_t* interrupted);
  // Whether a whole line is already here (next_line() would not wait).
  bool line_ready() const { return buffer_.find('\n') != std::string::npos; }

 private:
  Client(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  // A negative timeout waits for ever.
  Result<std::string> read_line(std::chrono::milliseconds timeout,
                                const volatile std::sig_atomic_t* interrupted = nullptr);

  int fd_ = -1;
  std::string path_;
  std::string buffer_;       // bytes received after the last line
  std::size_t scanned_ = 0;  // bytes of buffer_ known to hold no newline
};

}  // namespace climits::control
