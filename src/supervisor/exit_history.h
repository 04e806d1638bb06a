#pragma once
// The last few runs of one program, for `climits-ctl status NAME`: how each ended, when, and
// how long it ran. A ring that grows to kKept entries and then overwrites the oldest: a
// program that never ends a run pays for an empty vector only. Pure.
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <vector>

#include "supervisor/exit_info.h"

namespace climits::supervisor {

struct ExitRecord {
  ExitInfo exit;
  std::chrono::milliseconds run_length{0};  // 0 when nothing ran (a spawn error)
  pid_t pid = 0;                            // 0 when nothing ran
};

class ExitHistory {
 public:
  static constexpr std::size_t kKept = 10;

  void record(ExitRecord record);
  std::vector<ExitRecord> newest_first() const;
  std::size_t size() const { return ring_.size(); }

 private:
  std::vector<ExitRecord> ring_;
  std::size_t oldest_ = 0;  // where the next record goes once the ring is full
};

}  // namespace climits::supervisor
