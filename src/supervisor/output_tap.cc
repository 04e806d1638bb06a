#include "supervisor/output_tap.h"

#include <algorithm>

namespace climits::supervisor {

void OutputTap::follow(OutputFollower* follower, std::string_view partial) {
  if (followers_.empty()) partial_.assign(partial.substr(0, kMaxLineBytes));
  followers_.push_back(follower);
}

void OutputTap::unfollow(OutputFollower* follower) {
  followers_.erase(std::remove(followers_.begin(), followers_.end(), follower), followers_.end());
  if (followers_.empty()) {
    partial_.clear();
    partial_.shrink_to_fit();
  }
}

void OutputTap::feed(std::string_view chunk) {
  std::size_t last_newline = chunk.rfind('\n');
  if (last_newline == std::string_view::npos) {
    partial_.append(chunk);
    if (partial_.size() >= kMaxLineBytes) {
      std::string cut = std::move(partial_);
      partial_.clear();
      cut += '\n';
      deliver(cut);
    }
    return;
  }
  std::string_view complete = chunk.substr(0, last_newline + 1);
  std::string_view rest = chunk.substr(last_newline + 1);
  if (partial_.empty()) {
    // The common case, a program writing whole lines: no copy.
    deliver(complete);
  } else {
    std::string joined = std::move(partial_);
    partial_.clear();
    joined.append(complete);
    deliver(joined);
  }
  partial_.assign(rest);
}

void OutputTap::deliver(std::string_view lines) {
  // A follower whose client is gone leaves while it is told: each is looked up again.
  if (followers_.size() == 1) {
    followers_.front()->on_lines(lines);
    return;
  }
  auto snapshot = followers_;
  for (OutputFollower* follower : snapshot)
    if (std::find(followers_.begin(), followers_.end(), follower) != followers_.end())
      follower->on_lines(lines);
}

}  // namespace climits::supervisor
