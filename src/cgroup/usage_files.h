#pragma once
// What a status reads of every program at every request — memory usage and peak — from
// files kept open per program and read with one pread() each; and the limit, read once after
// each change instead of at every request. On the hosts measured a system call costs 3–5 µs,
// and an open() of a cgroup file walks its path through cgroupfs besides: reading three files
// by path (open, read, read to EOF, close) was 12 system calls per program, most of the
// manager's 64 ms for a status of 1000 programs (bench/findings.md, "climits-ctl status").
// Files are opened at a program's first read and closed when its cgroup goes (forget()).
// Not thread-safe: the loop's.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "util/result.h"

namespace climits::cgroup {

class UsageFiles {
 public:
  // File names relative to a program's directory; `peak` may be missing (memory.peak before
  // Linux 5.19).
  struct Names {
    const char* current;
    const char* peak;
    const char* limit;
  };
  // The numbers as the files hold them; "max" reads as UINT64_MAX.
  struct Numbers {
    std::uint64_t current = 0;
    std::optional<std::uint64_t> peak;  // nullopt: the kernel has no peak file
    std::uint64_t limit = 0;
  };

  explicit UsageFiles(Names names) : names_(names) {}
  ~UsageFiles();
  UsageFiles(const UsageFiles&) = delete;
  UsageFiles& operator=(const UsageFiles&) = delete;

  // Reads the files of `program` in `dir`, opening them at the first call. The limit is read
  // from its file only when not known since the last limit_changed(): the manager is the one
  // writer of its cgroups' limits, and reading back what the kernel holds (rounded to pages)
  // keeps the figure the kernel's own.
  Result<Numbers> read(const std::string& program, const std::string& dir);
  // The backend is about to write the program's limit: read it again at the next read().
  void limit_changed(const std::string& program);
  // Closes the program's files (its cgroup is about to go, or is gone).
  void forget(const std::string& program);
  // Descriptors kept per program that has been read: usage and peak.
  static constexpr std::size_t descriptors() { return 2; }

 private:
  struct Kept {
    int current = -1;
    int peak = -1;  // -1: no peak file
    std::optional<std::uint64_t> limit;
  };
  Result<Kept*> open_files(const std::string& program, const std::string& dir);
  Result<Numbers> read_kept(Kept& kept, const std::string& dir);
  static void close_files(Kept& kept);

  Names names_;
  std::unordered_map<std::string, Kept> kept_;
};

}  // namespace climits::cgroup
