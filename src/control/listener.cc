#include "control/listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <utility>

namespace climits::control {

namespace {

Result<sockaddr_un> address_of(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path)
    return Error{ENAMETOOLONG, path + ": not usable as a Unix socket path (at most " +
                                   std::to_string(sizeof address.sun_path - 1) + " bytes)"};
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

// mkdir -p, each new directory 0755 whatever the umask: group members of control_group
// must be able to reach the socket.
Result<void> make_parents(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return success();
  std::string directory = path.substr(0, slash);
  struct stat info {};
  if (::stat(directory.c_str(), &info) == 0) {
    if (S_ISDIR(info.st_mode)) return success();
    return Error{ENOTDIR, directory + ": not a directory"};
  }
  if (auto made = make_parents(directory); !made) return made;
  if (::mkdir(directory.c_str(), 0755) != 0 && errno != EEXIST)
    return Error::from_errno(errno, "creating " + directory);
  (void)::chmod(directory.c_str(), 0755);
  return success();
}

// Whether a process accepts connections on the socket file at `address`. A full backlog
// (EAGAIN) is someone listening too.
Result<bool> someone_listens(const sockaddr_un& address, const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Error::from_errno(errno, "socket");
  int result = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  int error = result == 0 ? 0 : errno;
  ::close(fd);
  switch (error) {
    case 0:
    case EAGAIN:
    case EINPROGRESS:
      return true;
    case ECONNREFUSED:  // a socket file nobody listens on: a dead manager's
    case ENOENT:
      return false;  // gone in the meantime
    default:
      return Error::from_errno(error, "probing the existing socket " + path);
  }
}

// The refusal when another manager serves the path: found by connecting, or by bind().
Error already_running(const std::string& path) {
  return Error{EADDRINUSE, "another climits-manager is already running on the control socket " +
                               path +
                               " (stop it first, or give this one another "
                               "manager.control_socket)"};
}

}  // namespace

Result<Listener> Listener::open(const std::string& path, std::optional<gid_t> group) {
  auto address = address_of(path);
  if (!address) return address.error();
  if (auto made = make_parents(path); !made)
    return Error{made.error().code,
                 "cannot create the control socket's directory: " + made.error().message +
                     " (run as root, or set manager.control_socket to a "
                     "writable place)"};
  Listener listener;
  listener.path_ = path;

  struct stat existing {};
  if (::lstat(path.c_str(), &existing) == 0) {
    if (!S_ISSOCK(existing.st_mode))
      return Error{EEXIST, path +
                               " exists and is not a socket (remove it, or set "
                               "manager.control_socket to another path)"};
    auto live = someone_listens(*address, path);
    if (!live) return live.error();
    if (*live) return already_running(path);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return Error::from_errno(errno, "removing the stale socket " + path);
    listener.replaced_stale_ = true;
  }

  listener.fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listener.fd_ < 0) return Error::from_errno(errno, "socket");
  // Born 0600 (start-up is single-threaded, so the umask can be borrowed), then opened to the
  // group: no moment where others could connect.
  mode_t old_umask = ::umask(0177);
  int bound = ::bind(listener.fd_, reinterpret_cast<const sockaddr*>(&*address), sizeof *address);
  int bind_error = errno;
  ::umask(old_umask);
  if (bound != 0) {
    if (bind_error == EADDRINUSE) return already_running(path);
    return Error::from_errno(bind_error, "binding the control socket " + path);
  }
  listener.bound_ = true;
  struct stat mine {};
  if (::lstat(path.c_str(), &mine) == 0) {
    listener.device_ = mine.st_dev;
    listener.inode_ = mine.st_ino;
  }
  if (group) {
    if (::chown(path.c_str(), static_cast<uid_t>(-1), *group) != 0)
      return Error::from_errno(
          errno, "giving the control socket " + path + " to group " + std::to_string(*group));
    if (::chmod(path.c_str(), 0660) != 0) return Error::from_errno(errno, "chmod 0660 " + path);
  }
  if (::listen(listener.fd_, SOMAXCONN) != 0)
    return Error::from_errno(errno, "listening on the control socket " + path);
  return listener;
}

Listener::Listener(Listener&& other) noexcept {
  *this = std::move(other);
}

Listener& Listener::operator=(Listener&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    remove_file();
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    device_ = other.device_;
    inode_ = other.inode_;
    bound_ = std::exchange(other.bound_, false);
    replaced_stale_ = other.replaced_stale_;
  }
  return *this;
}

Listener::~Listener() {
  if (fd_ >= 0) ::close(fd_);
  remove_file();
}

int Listener::release_fd() {
  return std::exchange(fd_, -1);
}

void Listener::remove_file() {
  if (!bound_) return;
  bound_ = false;
  // Only our own file: if someone replaced it meanwhile, it is theirs.
  struct stat now {};
  if (::lstat(path_.c_str(), &now) == 0 && now.st_dev == device_ && now.st_ino == inode_)
    ::unlink(path_.c_str());
}

}  // namespace climits::control
