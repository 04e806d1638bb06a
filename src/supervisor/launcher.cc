#include "supervisor/launcher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include "build_info.h"
#include "supervisor/identity.h"
#include "util/file_io.h"
#include "util/uv_handle.h"

extern char** environ;

namespace climits::supervisor {

namespace {

// SIGKILL pending (the OOM killer queues it before it counts the kill), or exiting
// (PF_EXITING), or a zombie, or gone. Such a process may still hold its pipes open for a while
// (an OOM victim frees its memory first), so a write to its gate alone does not tell.
bool process_dying(int pid) {
  std::string proc = "/proc/" + std::to_string(pid);
  auto stat = read_file(proc + "/stat", 4096);
  if (!stat) return true;
  // After "(comm)": state, ppid, pgrp, session, tty_nr, tpgid, flags.
  auto after_comm = stat->rfind(')');
  if (after_comm == std::string::npos) return true;
  std::istringstream fields(stat->substr(after_comm + 1));
  char state = 0;
  long skipped = 0;
  unsigned long flags = 0;
  fields >> state >> skipped >> skipped >> skipped >> skipped >> skipped >> flags;
  constexpr unsigned long kExiting = 0x4;  // PF_EXITING (include/linux/sched.h)
  if (!fields || state == 'Z' || state == 'X' || (flags & kExiting) != 0) return true;
  auto status = read_file(proc + "/status", 16384);
  if (!status) return true;
  std::istringstream lines(*status);
  std::string line;
  constexpr unsigned long long kKill = 1ull << (SIGKILL - 1);
  while (std::getline(lines, line)) {
    if (line.rfind("SigPnd:", 0) != 0 && line.rfind("ShdPnd:", 0) != 0) continue;
    if ((std::strtoull(line.c_str() + 7, nullptr, 16) & kKill) != 0) return true;
  }
  return false;
}

// A pipe for one output stream: the write end for the child, the read end as a uv_pipe_t.
Result<uv_pipe_t*> make_output_pipe(uv_loop_t* loop, int& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Error::from_errno(errno, "creating an output pipe");
  auto* pipe = new uv_pipe_t;
  uv_pipe_init(loop, pipe, 0);
  int rc = uv_pipe_open(pipe, fds[0]);  // also makes it non-blocking
  if (rc != 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    close_and_delete(pipe);
    return Error{-rc, std::string("opening an output pipe: ") + uv_strerror(rc)};
  }
  write_end = fds[1];
  return pipe;
}

void close_pipe(uv_pipe_t* pipe) {
  close_and_delete(pipe);
}

std::string octal(mode_t mode) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%03o", static_cast<unsigned>(mode));
  return buffer;
}

// Out of descriptors (a leak somewhere, or more than the limit was raised for): the spawn
// fails like any other, through backoff, so nothing spins; the reason names the limit and
// the fix.
Error with_descriptor_hint(Error error) {
  if (error.code == EMFILE) {
    rlimit limit{};
    std::string value =
        ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? std::to_string(limit.rlim_cur) : "?";
    error.message += " (the manager is at its open-file limit of " + value +
                     "; raise LimitNOFILE= in the unit, or ulimit -n)";
  } else if (error.code == ENFILE) {
    error.message += " (the system's file table is full: see sysctl fs.file-max)";
  }
  return error;
}

// Closes what the parent still holds once uv_spawn has handed the fds to the child.
struct FdGuard {
  std::vector<int> fds;
  ~FdGuard() {
    for (int fd : fds)
      if (fd > 2) ::close(fd);
  }
};

// Fills stdio[1] and stdio[2] per the output settings: a pipe to the manager for a file (its
// read end into `launch`, its write end into `guard`), the manager's own for inherit, none for
// discard, and stdout's for a merged stderr.
Result<void> output_stdio(uv_loop_t* loop, const config::Program& program, Launch& result,
                          FdGuard& guard, uv_stdio_container_t* stdio) {
  int stdout_fd = -1;  // what a merged stderr shares
  for (int stream = 1; stream <= 2; ++stream) {
    const config::OutputSettings& out = stream == 1 ? program.stdout_output : program.stderr_output;
    switch (out.target) {
      case config::OutputTarget::file: {
        int write_end = -1;
        auto pipe = make_output_pipe(loop, write_end);
        if (!pipe) return pipe.error();
        (stream == 1 ? result.stdout_pipe : result.stderr_pipe) = *pipe;
        guard.fds.push_back(write_end);
        stdio[stream].flags = UV_INHERIT_FD;
        stdio[stream].data.fd = write_end;
        if (stream == 1) stdout_fd = write_end;
        break;
      }
      case config::OutputTarget::inherit:
        stdio[stream].flags = UV_INHERIT_FD;
        stdio[stream].data.fd = stream;
        if (stream == 1) stdout_fd = 1;
        break;
      case config::OutputTarget::discard:
        stdio[stream].flags = UV_IGNORE;
        break;
      case config::OutputTarget::merge:
        if (stdout_fd >= 0) {
          stdio[stream].flags = UV_INHERIT_FD;
          stdio[stream].data.fd = stdout_fd;
        } else {
          stdio[stream].flags = UV_IGNORE;  // stdout is discarded: so is stderr
        }
        break;
    }
  }
  return success();
}

// Fills stdio[3] with the write end of the helper's status pipe and, for a held start,
// stdio[4] with the read end of the gate; the parent's ends stay in `status_pipe[0]` and
// `gate_pipe[1]`, the child's go to `guard`. On failure nothing is left open but `guard`.
Result<void> helper_stdio(const std::string& name, Gate gate, FdGuard& guard,
                          uv_stdio_container_t* stdio, int status_pipe[2], int gate_pipe[2]) {
  if (::pipe2(status_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
    return Error::from_errno(errno, "creating the status pipe for " + name);
  guard.fds.push_back(status_pipe[1]);
  stdio[3].flags = UV_INHERIT_FD;
  stdio[3].data.fd = status_pipe[1];
  if (gate == Gate::held) {
    if (::pipe2(gate_pipe, O_CLOEXEC) != 0) {
      int saved = errno;
      ::close(status_pipe[0]);
      return Error::from_errno(saved, "creating the start gate for " + name);
    }
    guard.fds.push_back(gate_pipe[0]);
    stdio[4].flags = UV_INHERIT_FD;
    stdio[4].data.fd = gate_pipe[0];
  }
  return success();
}

// The helper's command line (climits_exec.c): the cgroup entry files, the identity, the umask,
// the directory and file limit, the status fd 3 and, for a held start, the gate fd 4.
std::vector<std::string> helper_arguments(const std::string& helper_path,
                                          const config::Program& program,
                                          const std::vector<std::string>& entry_files,
                                          rlim_t nofile_soft, Gate gate) {
  std::vector<std::string> args{helper_path};
  for (const auto& file : entry_files) args.insert(args.end(), {"--procs", file});
  // Resolved when the configuration was loaded (config/accounts.h): no NSS call here.
  if (program.identity) {
    auto identity_args = identity_arguments(*program.identity);
    args.insert(args.end(), identity_args.begin(), identity_args.end());
  }
  if (program.umask) args.insert(args.end(), {"--umask", octal(*program.umask)});
  args.insert(args.end(), {"--dir", program.directory, "--nofile", std::to_string(nofile_soft),
                           "--status-fd", "3"});
  if (gate == Gate::held) args.insert(args.end(), {"--gate", "4"});
  args.push_back("--");
  args.insert(args.end(), program.command.begin(), program.command.end());
  return args;
}

// The manager's environment (without its own service variables) with the program's added.
std::vector<std::string> child_environment(const std::vector<std::string>& base,
                                           const std::map<std::string, std::string>& added) {
  std::vector<std::string> env;
  for (const auto& entry : base) {
    std::string name = entry.substr(0, entry.find('='));
    if (!added.count(name)) env.push_back(entry);
  }
  for (const auto& [name, value] : added) env.push_back(name + "=" + value);
  return env;
}

}  // namespace

Launcher::Launcher(uv_loop_t* loop, std::string helper_path, rlim_t nofile_soft)
    : loop_(loop), helper_path_(std::move(helper_path)), nofile_soft_(nofile_soft) {
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    // Variables of the manager's own service integration must not leak into programs.
    std::string_view text = *entry;
    if (text.starts_with("NOTIFY_SOCKET=") || text.starts_with("LISTEN_") ||
        text.starts_with("WATCHDOG_"))
      continue;
    base_environment_.emplace_back(text);
  }
}

Launcher::~Launcher() {
  // Children not reaped yet (their runners are gone): no longer watched; freed once closed.
  for (auto& [pid, child] : children_) {
    if (child->gate_fd >= 0) ::close(child->gate_fd);
    child->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&child->handle),
             [](uv_handle_t* h) { delete static_cast<Child*>(h->data); });
  }
}

void Launcher::exited(uv_process_t* handle, std::int64_t exit_status, int term_signal) noexcept {
  auto* child = static_cast<Child*>(handle->data);
  ExitCallback on_exit = std::move(child->on_exit);
  int pid = handle->pid;
  if (child->owner != nullptr) {
    child->owner->children_.erase(pid);
    if (child->gate_fd >= 0) ::close(child->gate_fd);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(handle),
           [](uv_handle_t* h) { delete static_cast<Child*>(h->data); });
  if (on_exit) on_exit(pid, exit_status, term_signal);
}

bool Launcher::open_gate(int pid) {
  auto found = children_.find(pid);
  if (found == children_.end() || found->second->gate_fd < 0) return false;
  Child& child = *found->second;
  // One byte opens the gate. A helper the OOM killer picked at its gate is not opened: it is
  // dying (see process_dying()), or dead with the read end closed (EPIPE; SIGPIPE is ignored), and
  // its exit is still on the way.
  char go = 1;
  bool opened = !process_dying(pid) && ::write(child.gate_fd, &go, 1) == 1;
  ::close(child.gate_fd);
  child.gate_fd = -1;
  return opened;
}

bool Launcher::dying(int pid) {
  return !children_.count(pid) || process_dying(pid);
}

Result<void> Launcher::send_signal(int pid, int signal) {
  // Only our own children, and only until they are reaped: the pid cannot be another's yet.
  if (!children_.count(pid)) return success();
  if (::kill(pid, signal) != 0 && errno != ESRCH)
    return Error::from_errno(
        errno, "sending signal " + std::to_string(signal) + " to pid " + std::to_string(pid));
  return success();
}

void Launcher::forget(int pid) {
  reports_.forget(pid);
  auto found = children_.find(pid);
  if (found == children_.end()) return;
  Child& child = *found->second;
  child.on_exit = nullptr;
  // Closing the gate makes a held helper exit 0 without running anything.
  if (child.gate_fd >= 0) ::close(child.gate_fd);
  child.gate_fd = -1;
}

Result<Launch> Launcher::launch(const config::Program& program,
                                const std::vector<std::string>& entry_files, ExitCallback on_exit,
                                Gate gate) {
  // Earlier helpers have exec'd by now, most of them: their pipes need not reach this fork.
  reports_.sweep();
  FdGuard guard;
  Launch result{};
  // On failure the read ends made so far are closed again.
  struct PipeGuard {
    Launch& launch;
    bool armed = true;
    ~PipeGuard() {
      if (!armed) return;
      close_pipe(launch.stdout_pipe);
      close_pipe(launch.stderr_pipe);
    }
  } pipe_guard{result};
  // stdio: 0 = /dev/null, 1 and 2 per the output settings, 3 = the helper's status pipe,
  // 4 = the read end of the gate, for a gated launch.
  uv_stdio_container_t stdio[5];
  stdio[0].flags = UV_IGNORE;
  if (auto outputs = output_stdio(loop_, program, result, guard, stdio); !outputs)
    return with_descriptor_hint(outputs.error());
  int status_pipe[2];
  int gate_pipe[2] = {-1, -1};
  if (auto pipes = helper_stdio(program.name, gate, guard, stdio, status_pipe, gate_pipe); !pipes)
    return with_descriptor_hint(pipes.error());

  std::vector<std::string> args =
      helper_arguments(helper_path_, program, entry_files, nofile_soft_, gate);
  std::vector<std::string> env = child_environment(base_environment_, program_environment(program));

  std::vector<char*> argv, envp;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  for (auto& entry : env) envp.push_back(entry.data());
  envp.push_back(nullptr);

  uv_process_options_t options{};
  options.exit_cb = &Launcher::exited;
  options.file = helper_path_.c_str();
  options.args = argv.data();
  options.env = envp.data();
  options.stdio_count = gate == Gate::held ? 5 : 4;
  options.stdio = stdio;
  // Its own session: a Ctrl-C on the manager's terminal must not reach the programs; the
  // manager stops them itself, gracefully.
  options.flags = UV_PROCESS_DETACHED;

  auto* child = new Child{{}, this, std::move(on_exit), gate_pipe[1]};
  child->handle.data = child;
  int rc = uv_spawn(loop_, &child->handle, &options);
  if (rc != 0) {
    // libuv wants even a failed spawn's handle closed.
    uv_close(reinterpret_cast<uv_handle_t*>(&child->handle),
             [](uv_handle_t* h) { delete static_cast<Child*>(h->data); });
    ::close(status_pipe[0]);
    if (gate_pipe[1] >= 0) ::close(gate_pipe[1]);
    return with_descriptor_hint(Error{-rc, "starting " + helper_path_ + ": " + uv_strerror(rc)});
  }
  result.pid = child->handle.pid;
  children_.emplace(result.pid, child);
  reports_.add(result.pid, status_pipe[0]);
  pipe_guard.armed = false;
  return result;
}

std::optional<std::string> Launcher::take_spawn_error(int pid) {
  auto taken = reports_.take(pid);
  if (!taken) return std::nullopt;
  const std::string& report = *taken;
  // "ERRNO what" (climits_exec.c): the system error is worded here, by the manager's libc.
  int error = 0;
  auto [end, ec] = std::from_chars(report.data(), report.data() + report.size(), error);
  if (ec != std::errc() || end == report.data() + report.size() || *end != ' ') return report;
  std::string message = report.substr(static_cast<std::size_t>(end - report.data()) + 1);
  if (error != 0) message += std::string(": ") + std::strerror(error);
  return message;
}

Result<std::string> find_helper() {
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  std::vector<std::string> candidates;
  if (!error) candidates.push_back((self.parent_path() / "climits-exec").string());
  candidates.push_back(std::string(CLIMITS_LIBEXEC_DIR) + "/climits-exec");
  for (const auto& candidate : candidates)
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  return Error{ENOENT, "the helper climits-exec was found neither beside the manager nor in " +
                           std::string(CLIMITS_LIBEXEC_DIR) +
                           " (reinstall the package, or "
                           "build the climits-exec target)"};
}

}  // namespace climits::supervisor
