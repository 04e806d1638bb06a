#include "supervisor/output_log.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace climits::supervisor {

namespace {

constexpr auto kWarningInterval = std::chrono::minutes(1);

}  // namespace

LogFile::LogFile(std::string program, std::string path, std::uint64_t max_size, int keep)
    : program_(std::move(program)), path_(std::move(path)), max_size_(max_size), keep_(keep) {
  open();
}

LogFile::~LogFile() {
  if (fd_ >= 0) ::close(fd_);
}

bool LogFile::open() {
  if (fd_ >= 0) return true;
  std::error_code ignored;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ignored);
  // O_NOFOLLOW: the manager writes as root, so a symbolic link planted where a log file goes
  // (by anyone who can write to the log directory) must not redirect output into another file.
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
               0640);
  if (fd_ < 0) {
    open_error_ = errno;
    warn_dropped(open_error_, 0);
    return false;
  }
  struct stat info {};
  size_ = ::fstat(fd_, &info) == 0 ? static_cast<std::uint64_t>(info.st_size) : 0;
  return true;
}

void LogFile::reopen() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  open();
}

void LogFile::set_rotation(std::uint64_t max_size, int keep) {
  max_size_ = max_size;
  keep_ = keep;
}

void LogFile::rotate() {
  ::close(fd_);
  fd_ = -1;
  // Rotated files beyond keep (left by a higher keep before a reload or a restart) go first:
  // NAME.(keep+1), NAME.(keep+2), … until one is missing. Usually the first unlink fails.
  for (int n = keep_ + 1;; ++n) {
    if (::unlink((path_ + "." + std::to_string(n)).c_str()) != 0) break;
  }
  if (keep_ == 0) {
    ::unlink(path_.c_str());
  } else {
    // NAME.keep falls off the end as NAME.(keep-1) is renamed over it.
    for (int n = keep_ - 1; n >= 1; --n) {
      std::string from = path_ + "." + std::to_string(n);
      std::string to = path_ + "." + std::to_string(n + 1);
      ::rename(from.c_str(), to.c_str());  // ENOENT: fewer files so far
    }
    ::rename(path_.c_str(), (path_ + ".1").c_str());
  }
  open();
}

void LogFile::write(const char* data, std::size_t length) {
  // Followers get the output even when the disk refuses it: they asked for the program's.
  if (tap_.following()) tap_.feed(std::string_view(data, length));
  if (fd_ < 0 && !open()) {
    warn_dropped(open_error_, length);
    return;
  }
  if (size_ > 0 && size_ + length > max_size_) rotate();
  if (fd_ < 0) {
    warn_dropped(errno, length);
    return;
  }
  while (length > 0) {
    ssize_t n = ::write(fd_, data, length);
    if (n < 0) {
      if (errno == EINTR) continue;
      warn_dropped(errno, length);
      return;
    }
    size_ += static_cast<std::uint64_t>(n);
    data += n;
    length -= static_cast<std::size_t>(n);
  }
}

Result<LogFile::Tail> LogFile::read_tail(std::size_t max_bytes) const {
  // Only the file the manager has open, through /proc/self/fd (the very file being written,
  // even after a rename): never the configured path itself, which someone who can write the
  // log directory may have made a symlink (to /etc/shadow) or a FIFO (a read that would hold
  // the loop) since our open failed.
  if (fd_ < 0) return Tail{{}, true};
  std::string path = "/proc/self/fd/" + std::to_string(fd_);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return Tail{{}, true};  // nothing written yet
    return Error::from_errno(errno, "opening " + path_);
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    int error = errno;
    ::close(fd);
    return Error::from_errno(error, "reading " + path_);
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return Error{EINVAL, path_ + " is not a regular file"};
  }
  auto size = static_cast<std::uint64_t>(info.st_size);
  std::uint64_t start = size > max_bytes ? size - max_bytes : 0;
  Tail tail;
  tail.whole_file = start == 0;
  tail.bytes.resize(static_cast<std::size_t>(size - start));
  std::size_t got = 0;
  while (got < tail.bytes.size()) {
    ssize_t n = ::pread(fd, tail.bytes.data() + got, tail.bytes.size() - got,
                        static_cast<off_t>(start + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // shorter than fstat said: truncated meanwhile
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  tail.bytes.resize(got);
  return tail;
}

void LogFile::warn_dropped(int error, std::size_t length) {
  dropped_ += length;
  auto now = std::chrono::steady_clock::now();
  if (last_warning_ != std::chrono::steady_clock::time_point{} &&
      now - last_warning_ < kWarningInterval)
    return;
  last_warning_ = now;
  spdlog::warn(
      "{}: cannot write its output to {}: {}; dropping it ({} bytes so far; at most "
      "one such warning a minute)",
      program_, path_,
      // ELOOP from O_NOFOLLOW reads "Too many levels of symbolic links": say what it is.
      error == ELOOP ? "it is a symbolic link, which is refused" : std::strerror(error), dropped_);
}

}  // namespace climits::supervisor
