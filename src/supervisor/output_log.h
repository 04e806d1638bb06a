#pragma once
// Program output into a size-rotated file (the pipes it comes through: output_drains.h).
//
// A LogFile is one stream's file (it outlives runs: a program restarted keeps appending). It
// rotates when a write would pass max_size: NAME.keep is dropped, NAME.1 … become NAME.2 …,
// NAME becomes NAME.1 (the newest), and a fresh NAME is opened. Writes are synchronous on a
// regular file and nothing is buffered in the manager, so a flooding program costs one read
// and one write per loop turn, never memory. When the disk is full, output is dropped with
// one warning a minute at most. Every chunk also goes to the file's followers (output_tap.h),
// whatever happens to the file.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "supervisor/output_tap.h"
#include "util/result.h"

namespace climits::supervisor {

class LogFile {
 public:
  LogFile(std::string program, std::string path, std::uint64_t max_size, int keep);
  ~LogFile();
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  void write(const char* data, std::size_t length);
  // Closes and opens the file again (SIGUSR1, after logrotate renamed it).
  void reopen();
  // New rotation settings from a reload.
  void set_rotation(std::uint64_t max_size, int keep);
  const std::string& path() const { return path_; }

  // Followers of what is written from now on.
  OutputTap& tap() { return tap_; }
  // The last bytes of the file (at most max_bytes) as it is now, and whether they start at
  // its beginning. Read from the open file itself, so a file renamed by logrotate and not
  // reopened yet is still the one read. One bounded read, on the loop.
  struct Tail {
    std::string bytes;
    bool whole_file = false;
  };
  Result<Tail> read_tail(std::size_t max_bytes) const;
  const std::string& program() const { return program_; }

 private:
  bool open();
  void rotate();
  void warn_dropped(int error, std::size_t length);

  std::string program_;
  std::string path_;
  std::uint64_t max_size_;
  int keep_;
  int fd_ = -1;
  int open_error_ = 0;  // errno of the last failed open(), for the warning
  std::uint64_t size_ = 0;
  std::uint64_t dropped_ = 0;
  OutputTap tap_;
  std::chrono::steady_clock::time_point last_warning_{};
};

}  // namespace climits::supervisor
