#include "cgroup/usage_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

#include "cgroup/cgroup_files.h"
#include "util/text.h"

namespace climits::cgroup {

namespace {

// One pread() from offset 0: a cgroup number file ("123\n", "max\n") comes whole in one read
// when the buffer is larger than it. The path is made only for an error: a status of
// thousands of programs reads thousands of files.
Result<std::uint64_t> read_number_at(int fd, const std::string& dir, const char* name) {
  char buffer[64];
  ssize_t n;
  do n = ::pread(fd, buffer, sizeof buffer, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) return Error::from_errno(errno, "reading " + dir + "/" + name);
  std::string_view value = trim(std::string_view(buffer, static_cast<std::size_t>(n)));
  if (static_cast<std::size_t>(n) < sizeof buffer) {
    if (value == "max") return UINT64_MAX;
    if (auto number = parse_u64(value)) return *number;
  }
  return Error{EINVAL, dir + "/" + name + ": not a number: \"" + std::string(value) + "\""};
}

}  // namespace

UsageFiles::~UsageFiles() {
  for (auto& [program, kept] : kept_) close_files(kept);
}

void UsageFiles::close_files(Kept& kept) {
  if (kept.current >= 0) ::close(kept.current);
  if (kept.peak >= 0) ::close(kept.peak);
  kept.current = kept.peak = -1;
}

Result<UsageFiles::Kept*> UsageFiles::open_files(const std::string& program,
                                                 const std::string& dir) {
  Kept kept;
  std::string current = dir + "/" + names_.current;
  kept.current = ::open(current.c_str(), O_RDONLY | O_CLOEXEC);
  if (kept.current < 0) return Error::from_errno(errno, "opening " + current);
  std::string peak = dir + "/" + names_.peak;
  kept.peak = ::open(peak.c_str(), O_RDONLY | O_CLOEXEC);
  if (kept.peak < 0 && errno != ENOENT) {  // ENOENT: a kernel without a peak file
    auto error = Error::from_errno(errno, "opening " + peak);
    close_files(kept);
    return error;
  }
  return &kept_.insert_or_assign(program, kept).first->second;
}

Result<UsageFiles::Numbers> UsageFiles::read_kept(Kept& kept, const std::string& dir) {
  Numbers numbers;
  auto current = read_number_at(kept.current, dir, names_.current);
  if (!current) return current.error();
  numbers.current = *current;
  if (kept.peak >= 0) {
    auto peak = read_number_at(kept.peak, dir, names_.peak);
    if (!peak) return peak.error();
    numbers.peak = *peak;
  }
  if (!kept.limit) {
    auto limit = files::read_number(dir + "/" + names_.limit);
    if (!limit) return limit.error();
    kept.limit = *limit;
  }
  numbers.limit = *kept.limit;
  return numbers;
}

Result<UsageFiles::Numbers> UsageFiles::read(const std::string& program, const std::string& dir) {
  auto found = kept_.find(program);
  bool opened_now = found == kept_.end();
  Kept* kept = opened_now ? nullptr : &found->second;
  if (opened_now) {
    auto made = open_files(program, dir);
    if (!made) return made.error();
    kept = *made;
  }
  auto numbers = read_kept(*kept, dir);
  if (!numbers && numbers.error().code == ENODEV && !opened_now) {
    // The files of a removed cgroup read ENODEV: one removed and made again without forget()
    // (by hand, say) is opened afresh, once.
    forget(program);
    return read(program, dir);
  }
  if (!numbers) forget(program);
  return numbers;
}

void UsageFiles::limit_changed(const std::string& program) {
  if (auto found = kept_.find(program); found != kept_.end()) found->second.limit.reset();
}

void UsageFiles::forget(const std::string& program) {
  auto found = kept_.find(program);
  if (found == kept_.end()) return;
  close_files(found->second);
  kept_.erase(found);
}

}  // namespace climits::cgroup
