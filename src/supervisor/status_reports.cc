#include "supervisor/status_reports.h"

#include <unistd.h>

#include <cerrno>

namespace climits::supervisor {

StatusReports::~StatusReports() {
  for (auto& [pid, pending] : pending_)
    if (pending.fd >= 0) ::close(pending.fd);
}

void StatusReports::add(pid_t pid, int fd) {
  pending_[pid] = Pending{fd, {}};
}

bool StatusReports::drain(Pending& pending) {
  if (pending.fd < 0) return true;
  char buffer[1024];
  for (;;) {
    ssize_t n = ::read(pending.fd, buffer, sizeof buffer);
    if (n > 0) {
      pending.report.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return false;  // the helper has not exec'd yet
    // End-of-file, or an error that no later read would mend: done either way.
    ::close(pending.fd);
    pending.fd = -1;
    return true;
  }
}

void StatusReports::sweep() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (drain(it->second) && it->second.report.empty())
      it = pending_.erase(it);
    else
      ++it;
  }
}

std::optional<std::string> StatusReports::take(pid_t pid) {
  auto it = pending_.find(pid);
  if (it == pending_.end()) return std::nullopt;
  drain(it->second);  // the process has exited: its helper wrote all it will
  std::string report = std::move(it->second.report);
  if (it->second.fd >= 0) ::close(it->second.fd);
  pending_.erase(it);
  if (report.empty()) return std::nullopt;
  return report;
}

void StatusReports::forget(pid_t pid) {
  auto it = pending_.find(pid);
  if (it == pending_.end()) return;
  if (it->second.fd >= 0) ::close(it->second.fd);
  pending_.erase(it);
}

std::size_t StatusReports::open_pipes() const {
  std::size_t count = 0;
  for (const auto& [pid, pending] : pending_)
    if (pending.fd >= 0) ++count;
  return count;
}

}  // namespace climits::supervisor
