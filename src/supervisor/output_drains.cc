#include "supervisor/output_drains.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "util/uv_handle.h"

namespace climits::supervisor {

OutputDrains::~OutputDrains() {
  close_all();
}

void OutputDrains::drain(uv_pipe_t* pipe, std::shared_ptr<LogFile> file) {
  auto it = open_.insert(open_.end(), Drain{pipe, std::move(file), this, {}});
  it->self = it;
  pipe->data = &*it;
  uv_read_start(reinterpret_cast<uv_stream_t*>(pipe), &OutputDrains::allocate,
                &OutputDrains::on_read);
}

void OutputDrains::allocate(uv_handle_t* handle, std::size_t, uv_buf_t* buf) noexcept {
  auto& buffer = static_cast<Drain*>(handle->data)->owner->buffer_;
  buf->base = buffer.data();
  buf->len = buffer.size();
}

void OutputDrains::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* drain = static_cast<Drain*>(stream->data);
  if (nread > 0) {
    drain->file->write(buf->base, static_cast<std::size_t>(nread));
    return;
  }
  if (nread == 0) return;  // EAGAIN
  // EOF or an error: every writer is gone.
  drain->owner->close(drain);
}

void OutputDrains::close(Drain* drain) {
  uv_read_stop(reinterpret_cast<uv_stream_t*>(drain->pipe));
  close_and_delete(drain->pipe);
  open_.erase(drain->self);
}

std::size_t OutputDrains::close_all() {
  std::size_t closed = 0;
  while (!open_.empty()) {
    Drain* drain = &open_.front();
    LogFile& file = *drain->file;
    // What the loop has not read yet, usually up to the end of file of a program that just
    // stopped; bounded, in case a writer floods.
    uv_os_fd_t fd = -1;
    uv_fileno(reinterpret_cast<uv_handle_t*>(drain->pipe), &fd);
    bool writers_gone = false;
    for (int reads = 0; reads < 16; ++reads) {
      ssize_t n = ::read(fd, buffer_.data(), buffer_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) file.write(buffer_.data(), static_cast<std::size_t>(n));
      writers_gone = n == 0;
      if (n <= 0) break;
    }
    if (!writers_gone)
      spdlog::warn(
          "{}: its output pipe to {} is still held open by a process that left its "
          "cgroup; no longer reading it",
          file.program(), file.path());
    close(drain);
    ++closed;
  }
  return closed;
}

}  // namespace climits::supervisor
