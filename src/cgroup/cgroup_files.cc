#include "cgroup/cgroup_files.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>

#include "util/file_io.h"
#include "util/text.h"

namespace climits::cgroup::files {

namespace {
using Clock = std::chrono::steady_clock;

void short_pause(int round) {
  // 0.2 ms, growing to 5 ms: most processes are gone after the first SIGKILL.
  std::this_thread::sleep_for(std::chrono::microseconds(std::min(200 * (round + 1), 5000)));
}
}  // namespace

std::optional<std::uint64_t> keyed_value(std::string_view text, std::string_view key) {
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    auto words = split_words(line);
    if (words.size() == 2 && words[0] == key) {
      if (auto value = parse_u64(words[1])) return *value;
    }
  }
  return std::nullopt;
}

Result<std::uint64_t> read_keyed_counter(const std::string& path, std::string_view key) {
  auto text = read_file(path);
  if (!text) return text.error();
  if (auto value = keyed_value(*text, key)) return *value;
  return Error{ENOENT, path + ": no \"" + std::string(key) + "\" line"};
}

Result<std::vector<std::string>> read_device_keys(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  std::vector<std::string> keys;
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    auto words = split_words(line);
    if (!words.empty() && words[0].find(':') != std::string::npos) keys.push_back(words[0]);
  }
  return keys;
}

Result<std::uint64_t> read_number(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  std::string_view value = trim(*text);
  if (value == "max") return UINT64_MAX;
  if (auto number = parse_u64(value)) return *number;
  return Error{EINVAL, path + ": not a number: \"" + std::string(value) + "\""};
}

Result<std::vector<pid_t>> read_pids(const std::string& procs_path) {
  auto text = read_file(procs_path, 64u << 20);
  if (!text) return text.error();
  std::vector<pid_t> pids;
  for (const auto& word : split_words(*text))
    if (auto pid = parse_u64(word); pid && *pid > 0) pids.push_back(static_cast<pid_t>(*pid));
  return pids;
}

Result<bool> make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0) return true;
  if (errno == EEXIST) return false;
  return Error::from_errno(errno, "creating cgroup " + path);
}

Result<void> make_dirs(const std::string& path, std::vector<std::string>* made) {
  std::string partial;
  for (const auto& part : std::filesystem::path(path)) {
    partial = (std::filesystem::path(partial) / part).string();
    if (partial == "/" || exists(partial)) continue;
    auto now = make_dir(partial);
    if (!now) return now.error();
    if (*now && made) made->push_back(partial);
  }
  return success();
}

Result<void> remove_dir(const std::string& path, std::chrono::milliseconds patience) {
  auto deadline = Clock::now() + patience;
  for (int round = 0;; ++round) {
    if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return success();
    if (errno != EBUSY || Clock::now() >= deadline)
      return Error::from_errno(errno, "removing cgroup " + path);
    short_pause(round);
  }
}

Result<std::size_t> kill_pass(const std::vector<std::string>& procs_paths, pid_t spare) {
  std::size_t listed = 0;
  for (const auto& procs : procs_paths) {
    auto pids = read_pids(procs);
    if (!pids) {
      if (pids.error().code == ENOENT) continue;  // cgroup already gone: nothing to kill
      return pids.error();
    }
    for (pid_t pid : *pids) {
      if (pid == spare) continue;
      ++listed;
      // ESRCH: it died meanwhile. Anything else (EPERM) shows as a process that stays.
      ::kill(pid, SIGKILL);
    }
  }
  return listed;
}

Result<void> kill_until_empty(const std::vector<std::string>& procs_paths,
                              std::chrono::milliseconds patience, pid_t spare) {
  auto deadline = Clock::now() + patience;
  for (int round = 0;; ++round) {
    auto remaining = kill_pass(procs_paths, spare);
    if (!remaining) return remaining.error();
    if (*remaining == 0) return success();
    if (Clock::now() >= deadline)
      return Error{EBUSY, std::to_string(*remaining) + " process(es) still in " +
                              procs_paths.front() + " after SIGKILL (stuck in the kernel?)"};
    short_pause(round);
  }
}

std::vector<std::string> cgroup_tree(const std::string& dir) {
  std::vector<std::string> order;
  if (auto children = list_children(dir, "")) {
    for (const auto& child : *children)
      if (child != "." && child != "..")
        for (auto& below : cgroup_tree(dir + "/" + child)) order.push_back(std::move(below));
  }
  order.push_back(dir);
  return order;
}

Result<void> remove_empty_tree(const std::string& dir) {
  if (!exists(dir)) return success();
  for (const auto& cgroup : cgroup_tree(dir))
    if (::rmdir(cgroup.c_str()) != 0 && errno != ENOENT)
      return Error::from_errno(errno, "removing cgroup " + cgroup);
  return success();
}

Result<std::vector<std::string>> list_children(const std::string& dir, std::string_view prefix) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) return Error::from_errno(errno, dir);
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(handle)) {
    std::string_view name = entry->d_name;
    if (entry->d_type == DT_DIR && name.starts_with(prefix)) names.emplace_back(name);
  }
  ::closedir(handle);
  return names;
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

}  // namespace climits::cgroup::files
