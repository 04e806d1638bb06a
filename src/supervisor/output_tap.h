#pragma once
// A program's output as it is written to its file, cut into whole lines for followers
// (`climits-ctl logs -f`). The LogFile feeds every chunk it writes here, so followers see
// exactly the bytes of the file, across rotations and reopens, without reading the file.
//
// Only complete lines are passed on; the bytes after the last '\n' wait for the rest of
// their line. A line that grows past kMaxLineBytes without an end is passed on cut at that
// length (a progress bar redrawn with '\r' has no '\n'). While nobody follows, nothing is
// kept and feed() is never called (LogFile checks following()).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace climits::supervisor {

class OutputFollower {
 public:
  virtual ~OutputFollower() = default;
  // One or more complete lines, each ending in '\n'; on the loop, must not block.
  virtual void on_lines(std::string_view lines) = 0;
};

class OutputTap {
 public:
  static constexpr std::size_t kMaxLineBytes = 64 * 1024;

  // `partial` is what the file holds after its last '\n' now: the start of the line the
  // next chunk completes. Used when nobody follows yet; otherwise the tap knows it already.
  void follow(OutputFollower* follower, std::string_view partial);
  // A follower may stop from inside on_lines(), itself or another.
  void unfollow(OutputFollower* follower);
  bool following() const { return !followers_.empty(); }
  void feed(std::string_view chunk);

 private:
  void deliver(std::string_view lines);

  std::vector<OutputFollower*> followers_;
  std::string partial_;  // the bytes of an incomplete line
};

}  // namespace climits::supervisor
