#pragma once
// Program output, from pipes on the loop into the programs' log files (output_log.h). Each
// pipe is read when it is readable and written out at once: nothing is buffered between
// reads, so a flooding program costs one read and one write per loop turn, never memory. The
// one read buffer is this object's, shared by every pipe: the loop runs one callback at a time.
#include <uv.h>

#include <array>
#include <cstddef>
#include <list>
#include <memory>

#include "supervisor/output_log.h"

namespace climits::supervisor {

class OutputDrains {
 public:
  OutputDrains() = default;
  ~OutputDrains();  // close_all()
  OutputDrains(const OutputDrains&) = delete;
  OutputDrains& operator=(const OutputDrains&) = delete;

  // Starts reading `pipe` (initialised, connected to a child's stdout or stderr) into `file`.
  // The pipe closes and frees itself at end of file (when every process holding its write end
  // is gone).
  void drain(uv_pipe_t* pipe, std::shared_ptr<LogFile> file);

  // At exit: reads what is left (bounded), then stops and closes every pipe still being
  // drained (its write end is held by a process outside the program's cgroup, which may live
  // on), logging each such one once; returns how many were still open.
  std::size_t close_all();

 private:
  struct Drain {
    uv_pipe_t* pipe;
    std::shared_ptr<LogFile> file;
    OutputDrains* owner;
    std::list<Drain>::iterator self;  // its place in open_, for removal in O(1)
  };
  static void allocate(uv_handle_t* handle, std::size_t, uv_buf_t* buf) noexcept;
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  void close(Drain* drain);

  std::array<char, 64 * 1024> buffer_;
  std::list<Drain> open_;  // in the order they were opened, which close_all() keeps
};

}  // namespace climits::supervisor
