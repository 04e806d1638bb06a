#pragma once
// What a reload did, program by program (docs/reload.md): each program of either configuration
// is named in exactly one group, or counted as unchanged. The manager fills it; the control
// protocol and the log say it.
#include <cstddef>
#include <string>
#include <vector>

namespace climits::supervisor {

struct ReloadResult {
  std::vector<std::string> added, removed, restarted, updated;
  struct Failure {
    std::string name;
    std::string error;
  };
  std::vector<Failure> failed;
  std::size_t unchanged = 0;
  bool ok() const { return failed.empty(); }
  // "2 added, 1 removed, 3 restarted, 4 updated live, 990 unchanged" (", 1 failed")
  std::string summary() const;
};

}  // namespace climits::supervisor
