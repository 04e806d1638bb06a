#include "supervisor/exit_history.h"

namespace climits::supervisor {

void ExitHistory::record(ExitRecord record) {
  if (ring_.size() < kKept) {
    if (ring_.empty()) ring_.reserve(kKept);  // not the 16 that doubling would reach
    ring_.push_back(std::move(record));
    return;
  }
  ring_[oldest_] = std::move(record);
  oldest_ = (oldest_ + 1) % kKept;
}

std::vector<ExitRecord> ExitHistory::newest_first() const {
  std::vector<ExitRecord> records;
  records.reserve(ring_.size());
  // Until the ring is full the newest is at the back; after, just before `oldest_`.
  std::size_t newest = ring_.size() < kKept ? ring_.size() : oldest_ + kKept;
  for (std::size_t i = 0; i < ring_.size(); ++i)
    records.push_back(ring_[(newest - 1 - i) % ring_.size()]);
  return records;
}

}  // namespace climits::supervisor
