#include "control/client.h"

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <utility>

namespace climits::control {

namespace {
// A status of many thousands of programs is a few MiB; anything past this is not the manager.
constexpr std::size_t kMaxResponseBytes = 64u << 20;
}  // namespace

Result<Client> Client::connect(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path)
    return Error{ENAMETOOLONG, "cannot use " + path + " as a socket path (at most " +
                                   std::to_string(sizeof address.sun_path - 1) + " bytes)"};
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error::from_errno(errno, "socket");
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    int error = errno;
    ::close(fd);
    switch (error) {
      case ENOENT:
      case ECONNREFUSED:
      case ENOTDIR:
        return Error{error, "the manager is not running on " + path + " (" + std::strerror(error) +
                                "; use -s to name another socket)"};
      case EACCES:
      case EPERM:
        return Error{error, "permission denied on " + path +
                                ": run as root or as a member of the manager's control_group"};
      default:
        return Error{error, "cannot connect to " + path + ": " + std::strerror(error)};
    }
  }
  return Client(fd, path);
}

Client::Client(Client&& other) noexcept {
  *this = std::move(other);
}

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    buffer_ = std::move(other.buffer_);
    scanned_ = std::exchange(other.scanned_, 0);
  }
  return *this;
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

Result<Json> Client::request(const Json& request, std::chrono::milliseconds timeout) {
  auto response = request_line(request, timeout);
  if (!response) return response.error();
  return parse_response(*response);
}

Result<std::string> Client::request_line(const Json& request, std::chrono::milliseconds timeout) {
  std::string line = to_line(request) + "\n";
  std::size_t sent = 0;
  while (sent < line.size()) {
    ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    // A refused connection is closed right after its error line: read that line rather
    // than report the broken pipe.
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) break;
    if (n < 0) return Error::from_errno(errno, "sending to " + path_);
    sent += static_cast<std::size_t>(n);
  }
  return read_line(timeout);
}

Result<std::string> Client::next_line(const volatile std::sig_atomic_t* interrupted) {
  return read_line(std::chrono::milliseconds(-1), interrupted);
}

Result<std::string> Client::read_line(std::chrono::milliseconds timeout,
                                      const volatile std::sig_atomic_t* interrupted) {
  bool forever = timeout.count() < 0;
  auto deadline =
      std::chrono::steady_clock::now() + (forever ? std::chrono::milliseconds(0) : timeout);
  for (;;) {
    if (auto newline = buffer_.find('\n', scanned_); newline != std::string::npos) {
      scanned_ = 0;
      if (newline + 1 == buffer_.size()) {  // the usual case: the line, and nothing after it
        std::string line = std::move(buffer_);
        buffer_.clear();
        line.pop_back();
        return line;
      }
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    scanned_ = buffer_.size();
    if (buffer_.size() > kMaxResponseBytes)
      return Error{EMSGSIZE, "the response from " + path_ + " is larger than 64 MiB"};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!forever && left.count() <= 0)
      return Error{ETIMEDOUT, "no answer from the manager on " + path_ + " within " +
                                  std::to_string(timeout.count() / 1000) + "s"};
    pollfd ready{fd_, POLLIN, 0};
    int polled;
    if (interrupted != nullptr) {
      // The caller blocks the signals that stop a stream; they are let in only while
      // waiting here, so that one never arrives between looking at the flag and waiting.
      sigset_t open;
      ::pthread_sigmask(SIG_SETMASK, nullptr, &open);
      for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigdelset(&open, signal);
      if (*interrupted) return Error{EINTR, "interrupted"};
      polled = ::ppoll(&ready, 1, nullptr, &open);
    } else {
      polled = ::poll(&ready, 1, forever ? -1 : static_cast<int>(left.count()));
    }
    if (polled < 0 && errno == EINTR) {
      if (interrupted != nullptr && *interrupted) return Error{EINTR, "interrupted"};
      continue;
    }
    if (polled < 0) return Error::from_errno(errno, "waiting for " + path_);
    if (polled == 0) continue;
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) {
      if (interrupted != nullptr && *interrupted) return Error{EINTR, "interrupted"};
      continue;
    }
    if (n == 0 || (n < 0 && errno == ECONNRESET))
      return Error{ECONNRESET, "the manager on " + path_ +
                                   " closed the connection without an "
                                   "answer"};
    if (n < 0) return Error::from_errno(errno, "reading from " + path_);
    // A line longer than a chunk (a status of many programs: 360 bytes each) gets room for
    // 4 MiB at once, then 4 times more: growing by doubling copied it several times into
    // fresh memory, and a page touched the first time was the larger part of what
    // climits-ctl status cost (docs/performance.md). Reserved pages cost nothing until used.
    std::size_t needed = buffer_.size() + static_cast<std::size_t>(n);
    if (needed > sizeof chunk && needed > buffer_.capacity())
      buffer_.reserve(std::max<std::size_t>(4u << 20, buffer_.capacity() * 4));
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace climits::control
