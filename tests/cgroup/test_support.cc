#include "tests/cgroup/test_support.h"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "cgroup/cgroup_files.h"
#include "util/file_io.h"

namespace climits::test {

namespace {

struct PrivateCgroups {
  cgroup::Layout layout;
  std::vector<std::pair<std::string, std::string>> moved;  // (private dir, original dir)

  PrivateCgroups() {
    auto detected = cgroup::detect_layout();
    if (!detected) throw std::runtime_error("cgroup detection failed: " + detected.error().message);
    layout = *detected;
    std::string suffix = "/climits-test-" + std::to_string(::getpid());
    enter(layout.memory, suffix);
    if (layout.pids) enter(*layout.pids, suffix);
  }

  void enter(cgroup::Hierarchy& hierarchy, const std::string& suffix) {
    std::string original = hierarchy.own_dir();
    std::string mine = original + suffix;
    if (!cgroup::files::make_dir(mine)) throw std::runtime_error("cannot create " + mine);
    if (!write_file(mine + "/cgroup.procs", std::to_string(::getpid())))
      throw std::runtime_error("cannot enter " + mine);
    hierarchy.self = (hierarchy.self == "/" ? "" : hierarchy.self) + suffix;
    moved.emplace_back(mine, original);
  }

  // Leave the private cgroups and remove them with everything below; on v1 also the pids
  // hierarchy's mirror of the private memory cgroup, which the backends create for the
  // roots they are given below it (placement.cc) and which nothing else removes.
  ~PrivateCgroups() {
    for (auto& [mine, original] : moved) {
      (void)write_file(original + "/cgroup.procs", std::to_string(::getpid()));
      remove_tree(mine);
    }
    // And the cpu, cpuacct and blkio mirrors, which a backend makes for a program with cpu:
    // or io: (removed at a manager's clean shutdown, which the tests do not go through).
    if (layout.version == cgroup::Version::v1) {
      for (const auto* hierarchy : {&layout.pids, &layout.cpu, &layout.cpuacct, &layout.blkio}) {
        if (!*hierarchy) continue;
        std::string mirror = (*hierarchy)->mount + layout.memory.self;
        if (mirror != (*hierarchy)->own_dir() && cgroup::files::exists(mirror)) remove_tree(mirror);
      }
    }
  }

  static void remove_tree(const std::string& dir) {
    auto children = cgroup::files::list_children(dir, "");
    if (children) {
      for (const auto& child : *children) {
        if (child == "." || child == "..") continue;
        remove_tree(dir + "/" + child);
      }
    }
    (void)cgroup::files::kill_until_empty({dir + "/cgroup.procs"}, std::chrono::seconds(5));
    (void)cgroup::files::remove_dir(dir, std::chrono::seconds(5));
  }
};

}  // namespace

const cgroup::Layout& private_layout() {
  static PrivateCgroups cgroups;
  return cgroups.layout;
}

bool in_vm() {
  const char* flag = std::getenv("CLIMITS_IN_VM");
  return flag != nullptr && std::strcmp(flag, "1") == 0;
}

pid_t spawn_in(const std::vector<std::string>& entry_files, const std::function<int()>& body) {
  // The child reports one byte once it is inside every cgroup, so the test never races it.
  int joined[2];
  if (::pipe(joined) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // doctest's crash handlers must not report a child's signal death as a test crash.
    for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
    ::close(joined[0]);
    for (const auto& file : entry_files) {
      if (!write_file(file, std::to_string(::getpid()))) ::_exit(120);
    }
    char byte = 1;
    (void)!::write(joined[1], &byte, 1);
    ::close(joined[1]);
    ::_exit(body());
  }
  ::close(joined[1]);
  char byte = 0;
  ssize_t n = ::read(joined[0], &byte, 1);
  ::close(joined[0]);
  if (n != 1) throw std::runtime_error("the child could not join its cgroup");
  return pid;
}

void allocate_touched(std::size_t bytes) {
  auto* block = static_cast<volatile char*>(std::malloc(bytes));
  if (block == nullptr) ::_exit(3);
  for (std::size_t i = 0; i < bytes; i += 4096) block[i] = static_cast<char>(i >> 12 | 1);
}

int allocate_and_hold(std::size_t mib) {
  for (std::size_t held = 0; mib == 0 || held < mib; ++held) allocate_touched(1 << 20);
  for (;;) ::pause();
}

pid_t spawn_holding(const std::vector<std::string>& entry_files, std::size_t bytes) {
  int ready[2];
  if (::pipe(ready) != 0) return -1;
  pid_t pid = spawn_in(entry_files, [&]() -> int {
    allocate_touched(bytes);
    char byte = 1;
    (void)!::write(ready[1], &byte, 1);
    for (;;) ::pause();
  });
  ::close(ready[1]);  // so that a child that dies first gives end-of-file
  char byte;
  bool holding = ::read(ready[0], &byte, 1) == 1;
  ::close(ready[0]);
  if (!holding && pid > 0) wait_exit(pid);
  return holding ? pid : -1;
}

int wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

bool is_alive(pid_t pid) {
  // A zombie is dead: where PID 1 does not reap orphans (containers), it lingers in /proc.
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  std::size_t end = stat->rfind(')');
  return end != std::string::npos && end + 2 < stat->size() && (*stat)[end + 2] != 'Z';
}

ExitWatch::ExitWatch(uv_loop_t* loop, pid_t pid) : pid_(pid) {
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd_ < 0) throw std::runtime_error("pidfd_open failed");
  poll_ = new uv_poll_t;
  uv_poll_init(loop, poll_, pidfd_);
  poll_->data = this;
  uv_poll_start(poll_, UV_READABLE, [](uv_poll_t* handle, int, int) {
    auto* self = static_cast<ExitWatch*>(handle->data);
    if (self == nullptr || self->exited_) return;
    self->when_ = std::chrono::steady_clock::now();
    self->status_ = wait_exit(self->pid_);
    self->exited_ = true;
    uv_poll_stop(handle);
  });
}

ExitWatch::~ExitWatch() {
  poll_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(poll_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
  ::close(pidfd_);
  if (!exited_) {
    ::kill(pid_, SIGKILL);
    wait_exit(pid_);
  }
}

std::string unique_name(const std::string& base) {
  static std::atomic<int> counter{0};
  return base + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

}  // namespace climits::test
