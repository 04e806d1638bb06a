#pragma once
// The `logs` stream: the last lines of each chosen output file, then (follow) every line the
// manager writes to those files from that moment on. The lines come from where the manager
// writes them (LogFile's tap, supervisor/output_tap.h), never from watching the files, so a
// rotation or a reopen (SIGUSR1) neither loses nor repeats one. The tail comes from the
// current file, one bounded read of its end per file, on the loop, when the stream starts;
// the tap is joined in the same turn of the loop, so nothing falls between the two.
//
// A reader that falls behind skips lines (SlowReader::skip): the manager's output goes on,
// and one marker line says how much the reader missed.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "control/protocol.h"
#include "control/stream.h"
#include "supervisor/output_log.h"

namespace climits::control {

// The tail is read from the end of each file: at most kMaxTailBytesPerFile per file, and
// about kMaxTailBytes for the whole request (a request for every program gets less of each).
inline constexpr std::size_t kMaxTailBytesPerFile = 1u << 20;
inline constexpr std::size_t kMaxTailBytes = 4u << 20;
inline constexpr std::size_t kMinTailBytesPerFile = 64u << 10;
// What a follower may leave unread before it skips: about 0.1 s of a program writing 10 MB/s
// (as JSON), so that a reader descheduled for a moment on a busy machine misses nothing, and
// still a bound on the manager's memory per follower.
inline constexpr std::size_t kMaxUnsentBytes = 1u << 20;

// The last `count` lines of the bytes at the end of a file (`whole_file`: they start at its
// beginning; otherwise the first, perhaps cut, line is not one of them). With `hold_partial`
// a last line without its '\n' is not among them but returned as `partial` (a follower gets
// it once it is complete); without, it is the last line.
struct TailLines {
  std::vector<std::string_view> lines;  // without their '\n'
  std::string_view partial;
};
TailLines last_lines(std::string_view bytes, bool whole_file, std::size_t count, bool hold_partial);

class LogStream : public Stream {
 public:
  struct Source {
    std::string name;
    const char* stream;  // "stdout" or "stderr"
    std::shared_ptr<supervisor::LogFile> file;
  };

  LogStream(std::vector<Source> sources, LogsOptions options);
  ~LogStream() override;

  SlowReader slow_reader() const override { return SlowReader::skip; }
  std::size_t unsent_cap() const override { return kMaxUnsentBytes; }
  void start(StreamOutput& output) override;
  void stop() override;

 private:
  class Follower;

  void forward(const std::string& prefix, std::string_view lines);

  std::vector<Source> sources_;
  LogsOptions options_;
  StreamOutput* output_ = nullptr;
  std::vector<std::unique_ptr<Follower>> followers_;  // one per source while following
};

}  // namespace climits::control
