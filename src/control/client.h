#pragma once
// climits-ctl's side of the control socket: blocking I/O, one request line out and one
// response line back, with a timeout. Errors come back as one-line messages for the user.
#include <chrono>
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

 private:
  Client(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Result<std::string> read_line(std::chrono::milliseconds timeout);

  int fd_ = -1;
  std::string path_;
  std::string buffer_;  // bytes received after the last line
};

}  // namespace climits::control
