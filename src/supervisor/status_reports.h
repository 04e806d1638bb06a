#pragma once
// What each helper reported before exec, collected from its status pipe (climits_exec.c).
// A pipe reaches end-of-file when its helper execs the program, or dies. Holding every read
// end until its program exits would keep one descriptor per program open for good, and every
// later fork copies the manager's descriptor table and every exec closes it again: at 500
// programs that was half the time a child took to reach exec. So the pipes are swept at each
// launch and closed as soon as they are done; only a report with something in it is kept
// until its process's exit asks for it.
#include <sys/types.h>

#include <optional>
#include <string>
#include <unordered_map>

namespace climits::supervisor {

class StatusReports {
 public:
  StatusReports() = default;
  StatusReports(const StatusReports&) = delete;
  StatusReports& operator=(const StatusReports&) = delete;
  ~StatusReports();

  // Takes ownership of `fd`, the non-blocking read end for the helper `pid`.
  void add(pid_t pid, int fd);
  // Reads what is there without waiting; closes the pipes that are done, and forgets the
  // helpers that exec'd without a word.
  void sweep();
  // At the exit of `pid`: what its helper wrote (nothing if it exec'd), and forgets it.
  std::optional<std::string> take(pid_t pid);
  // The process will never be asked for (its owner is gone).
  void forget(pid_t pid);

  std::size_t open_pipes() const;

 private:
  struct Pending {
    int fd;
    std::string report;
  };
  // Reads until the pipe is empty; true at end-of-file (the fd is then closed).
  static bool drain(Pending& pending);

  std::unordered_map<pid_t, Pending> pending_;
};

}  // namespace climits::supervisor
