#pragma once
// The control socket's file: bound and listening before the manager touches any cgroup, so
// that a second manager on the same socket stops before it could take the first one's
// programs for leftovers. Plain system calls; the server takes the descriptor onto the loop.
#include <sys/types.h>

#include <optional>
#include <string>

#include "util/result.h"

namespace climits::control {

class Listener {
 public:
  // Creates the parent directory if missing (0755); replaces a stale socket left by a dead
  // manager (connect() refused); refuses a live one, or a path that is not a socket. The new
  // socket is mode 0660 with group `group`, or 0600 without one.
  static Result<Listener> open(const std::string& path, std::optional<gid_t> group);

  Listener(Listener&& other) noexcept;
  Listener& operator=(Listener&& other) noexcept;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  // Closes the descriptor if still held, and removes the socket file if it is still ours.
  ~Listener();

  const std::string& path() const { return path_; }
  bool replaced_stale() const { return replaced_stale_; }
  // Hands the listening descriptor over (to the loop); the file is still removed by ~Listener.
  int release_fd();

 private:
  Listener() = default;
  void remove_file();

  std::string path_;
  int fd_ = -1;
  dev_t device_ = 0;
  ino_t inode_ = 0;
  bool bound_ = false;
  bool replaced_stale_ = false;
};

}  // namespace climits::control
