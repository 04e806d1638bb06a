#include "fake_kernel.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>

#include "config/loader.h"

namespace climits::fake {

// ---------------------------------------------------------------------------------------------
// FakeKernel

FakeKernel::FakeKernel(uv_loop_t* loop) : loop_(loop), delivery_(loop, [this] { deliver(); }) {}

FakeKernel::~FakeKernel() {
  for (int fd : fds_) ::close(fd);
}

bool FakeKernel::exists(const std::string& program) const {
  auto found = cgroups_.find(program);
  return found != cgroups_.end() && found->second.exists;
}

FakeKernel::Process* FakeKernel::process(int pid) {
  auto found = processes_.find(pid);
  return found == processes_.end() ? nullptr : &found->second;
}

bool FakeKernel::alive(int pid) const {
  auto found = processes_.find(pid);
  return found != processes_.end() && !found->second.gone && !found->second.dying;
}

bool FakeKernel::listed(const std::string& program, int pid) const {
  auto found = cgroups_.find(program);
  if (found == cgroups_.end()) return false;
  const auto& pids = found->second.pids;
  return std::find(pids.begin(), pids.end(), pid) != pids.end();
}

int FakeKernel::spawn(const std::string& program, Behaviour behaviour, bool at_gate,
                      Reaper reaper) {
  int pid = next_pid_++;
  Process& process = processes_[pid];
  process.pid = pid;
  process.program = program;
  process.behaviour = behaviour;
  process.at_gate = at_gate;
  process.reaper = std::move(reaper);
  cgroups_[program].pids.push_back(pid);
  if (!at_gate) start_running(process);
  return pid;
}

int FakeKernel::add_leftover(const std::string& program, Behaviour behaviour) {
  int pid = spawn(program, behaviour, false, nullptr);
  journal.push_back("leftover " + program + " " + std::to_string(pid));
  return pid;
}

void FakeKernel::start_running(Process& process) {
  if (process.behaviour.exit_at_once) die(process, *process.behaviour.exit_at_once, 0);
}

void FakeKernel::signal(int pid, int sig) {
  Process* p = process(pid);
  if (p == nullptr || p->gone || sig == 0) return;
  journal.push_back("signal " + std::to_string(pid) + " " + std::to_string(sig));
  if (p->dying) return;  // it dies once
  if (p->at_gate) {      // the helper, waiting: any signal ends it
    die(*p, 0, sig);
    return;
  }
  switch (p->behaviour.kind) {
    case Behaviour::dies_on_signal:
      die(*p, 0, sig);
      break;
    case Behaviour::ignores_term:
      if (sig == SIGKILL) die(*p, 0, sig);
      break;
    case Behaviour::frozen:
      if (p->pending_signal != SIGKILL) p->pending_signal = sig;
      break;
  }
}

void FakeKernel::exit(int pid, int code) {
  Process* p = process(pid);
  if (p == nullptr || p->gone || p->dying) return;
  die(*p, code, 0);
}

void FakeKernel::thaw(int pid) {
  Process* p = process(pid);
  if (p == nullptr || p->gone) return;
  journal.push_back("thaw " + std::to_string(pid));
  p->behaviour.kind = Behaviour::dies_on_signal;
  if (p->pending_signal != 0 && !p->dying) die(*p, 0, p->pending_signal);
}

void FakeKernel::open_gate(int pid) {
  Process* p = process(pid);
  journal.push_back("gate " + std::to_string(pid));
  if (p == nullptr || p->gone || !p->at_gate) return;
  p->at_gate = false;
  if (!p->dying) start_running(*p);
}

void FakeKernel::oom_event(const std::string& program, std::uint64_t kills) {
  Cgroup& cg = cgroups_[program];
  cg.oom_kills += kills;
  journal.push_back("oom " + program);
  if (cg.oom_eventfd >= 0) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(cg.oom_eventfd, &one, sizeof one);
  }
}

void FakeKernel::adopt_eventfd(const std::string& program, int fd) {
  cgroups_[program].oom_eventfd = fd;
  fds_.push_back(fd);
}

void FakeKernel::die(Process& process, std::int64_t status, int signal) {
  process.dying = true;
  deaths_.push_back({process.pid, status, signal});
  delivery_.start(std::chrono::milliseconds(0));
}

// The kernel's part (the process leaves its cgroup) and libuv's (the exit callback) together,
// on the loop, never inside the call that caused the death.
void FakeKernel::deliver() {
  auto batch = std::move(deaths_);
  deaths_.clear();
  auto released = std::move(released_);
  released_.clear();
  for (const Death& death : batch) {
    Process* p = process(death.pid);
    if (p == nullptr || p->gone) continue;
    p->gone = true;
    p->dying = false;
    auto& pids = cgroups_[p->program].pids;
    std::erase(pids, death.pid);
    journal.push_back("exit " + std::to_string(death.pid) + " " + std::to_string(death.status) +
                      "/" + std::to_string(death.signal));
    if (std::find(held_.begin(), held_.end(), death.pid) != held_.end())
      held_deaths_.push_back(death);
    else
      released.push_back(death);
  }
  for (const Death& death : released) {
    Process* p = process(death.pid);
    if (p == nullptr || !p->reaper) continue;
    Reaper reaper = p->reaper;
    reaper(death.pid, death.status, death.signal);
  }
}

void FakeKernel::release_report(int pid) {
  std::erase(held_, pid);
  for (auto it = held_deaths_.begin(); it != held_deaths_.end(); ++it) {
    if (it->pid != pid) continue;
    journal.push_back("reported " + std::to_string(pid));
    released_.push_back(*it);
    held_deaths_.erase(it);
    delivery_.start(std::chrono::milliseconds(0));
    return;
  }
}

int FakeKernel::find(const std::string& prefix, int from) const {
  for (int i = std::max(from, 0); i < static_cast<int>(journal.size()); ++i)
    if (journal[i].rfind(prefix, 0) == 0) return i;
  return -1;
}

int FakeKernel::count(const std::string& prefix) const {
  return static_cast<int>(
      std::count_if(journal.begin(), journal.end(),
                    [&](const std::string& line) { return line.rfind(prefix, 0) == 0; }));
}

// ---------------------------------------------------------------------------------------------
// FakeBackend

namespace {
Error missing(const std::string& path) {
  return Error{ENOENT, path + ": No such file or directory"};
}
std::string bytes(const cgroup::ByteLimit& limit) {
  return limit ? std::to_string(*limit) : std::string("max");
}
}  // namespace

std::vector<std::string> FakeBackend::entry_files(const std::string& program,
                                                  const cgroup::Limits&) const {
  return {path_of(program) + "/cgroup.procs"};
}

Result<bool> FakeBackend::create(const std::string& program, const cgroup::Limits&) {
  auto& cg = kernel_.cgroup(program);
  kernel_.journal.push_back("create " + program);
  if (cg.exists) return false;
  cg.exists = true;
  cg.limits = cgroup::Limits{};
  ++cg.creations;
  return true;
}

Result<cgroup::Warnings> FakeBackend::apply(const std::string& program,
                                            const cgroup::Limits& limits, Holds) {
  auto& cg = kernel_.cgroup(program);
  if (!cg.exists) return missing(path_of(program));
  if (cg.refuse_max_below_usage && limits.memory.max && *limits.memory.max < cg.usage) {
    ++cg.refusals;
    kernel_.journal.push_back("refuse " + program + " max=" + bytes(limits.memory.max));
    return Error{EBUSY, path_of(program) + "/memory.limit_in_bytes: Device or resource busy"};
  }
  cg.limits = limits;
  ++cg.applies;
  kernel_.journal.push_back("apply " + program + " max=" + bytes(limits.memory.max));
  return cgroup::Warnings{};
}

Result<cgroup::MemoryUsage> FakeBackend::usage(const std::string& program) {
  auto& cg = kernel_.cgroup(program);
  if (!cg.exists) return missing(path_of(program));
  cgroup::MemoryUsage usage;
  usage.current = cg.usage;
  usage.max = cg.limits.memory.max;
  return usage;
}

Result<std::uint64_t> FakeBackend::oom_kill_count(const std::string& program) {
  auto& cg = kernel_.cgroup(program);
  if (!cg.exists) return missing(path_of(program));
  return cg.oom_kills;
}

Result<std::uint64_t> FakeBackend::pids_limit_hits(const std::string& program) {
  auto& cg = kernel_.cgroup(program);
  if (!cg.exists) return missing(path_of(program));
  return cg.pids_events;
}

Result<std::vector<pid_t>> FakeBackend::processes(const std::string& program) {
  auto& cg = kernel_.cgroup(program);
  if (!cg.exists) return missing(path_of(program));
  return std::vector<pid_t>(cg.pids.begin(), cg.pids.end());
}

Result<std::vector<pid_t>> FakeBackend::signal_processes(const std::string& program, int signal,
                                                         pid_t spare) {
  auto& cg = kernel_.cgroup(program);
  if (!cg.exists) return missing(path_of(program));
  std::vector<pid_t> signalled;
  for (int pid : std::vector<int>(cg.pids)) {
    if (pid == spare || !kernel_.alive(pid)) continue;
    kernel_.signal(pid, signal);
    signalled.push_back(pid);
  }
  return signalled;
}

Result<std::size_t> FakeBackend::kill_pass(const std::string& program, pid_t spare) {
  ++kill_passes;
  auto& cg = kernel_.cgroup(program);
  if (!cg.exists) return std::size_t{0};
  std::vector<int> pids = cg.pids;  // signal() never changes the list, but be safe
  std::size_t listed = 0;
  for (int pid : pids) {
    if (pid == spare) continue;
    ++listed;
    kernel_.signal(pid, SIGKILL);
  }
  kernel_.journal.push_back("kill_pass " + program + " " + std::to_string(listed));
  return listed;
}

Result<void> FakeBackend::remove_empty(const std::string& program) {
  auto& cg = kernel_.cgroup(program);
  if (!cg.exists) return success();
  if (!cg.pids.empty()) return Error{EBUSY, path_of(program) + ": Device or resource busy"};
  cg.exists = false;
  ++cg.removals;
  kernel_.journal.push_back("remove " + program);
  return success();
}

Result<std::vector<std::string>> FakeBackend::existing_programs() {
  std::vector<std::string> names;
  for (const auto& [name, cg] : kernel_.cgroups())
    if (cg.exists) names.push_back(name);
  return names;
}

Result<std::unique_ptr<cgroup::OomWatcher>> FakeBackend::watch_oom(
    uv_loop_t* loop, const std::string& program, cgroup::OomWatcher::Callback callback) {
  if (!kernel_.exists(program)) return missing(path_of(program));
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return Error::from_errno(errno, "eventfd");
  int watcher_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (watcher_fd < 0) {
    ::close(fd);
    return Error::from_errno(errno, "dup");
  }
  kernel_.adopt_eventfd(program, fd);
  FakeKernel* kernel = &kernel_;
  auto read = [kernel, program]() -> Result<std::uint64_t> {
    if (!kernel->exists(program)) return missing("/fake/" + program);
    return kernel->cgroup(program).oom_kills;
  };
  return cgroup::OomWatcher::on_eventfd(loop, watcher_fd, std::move(read), std::move(callback));
}

// ---------------------------------------------------------------------------------------------
// FakeLauncher

Result<supervisor::Launch> FakeLauncher::launch(const config::Program& program,
                                                const std::vector<std::string>& entry_files,
                                                ExitCallback on_exit, supervisor::Gate gate) {
  ++attempts;
  if (failures_left_ > 0) {
    --failures_left_;
    kernel_.journal.push_back("launch-failed " + program.name);
    return Error{ENOENT, failure_message_};
  }
  if (!kernel_.exists(program.name)) {
    kernel_.journal.push_back("launch-failed " + program.name + " (no cgroup)");
    return Error{ENOENT, "joining " + (entry_files.empty() ? "?" : entry_files.front()) +
                             ": No such file or directory"};
  }
  auto found = behaviours_.find(program.name);
  Behaviour behaviour = found == behaviours_.end() ? Behaviour{} : found->second;
  bool held = gate == supervisor::Gate::held;
  int pid =
      kernel_.spawn(program.name, behaviour, held,
                    [this](int p, std::int64_t status, int signal) { reaped(p, status, signal); });
  children_[pid] = Child{std::move(on_exit)};
  launches.push_back({program.name, gate, pid, program, entry_files});
  kernel_.journal.push_back("launch " + program.name + " " + std::to_string(pid) +
                            (held ? " held" : ""));
  return supervisor::Launch{pid};
}

bool FakeLauncher::open_gate(int pid) {
  gates_opened.push_back(pid);
  bool alive = kernel_.alive(pid);
  kernel_.open_gate(pid);
  return alive;
}

Result<void> FakeLauncher::send_signal(int pid, int signal) {
  signals.push_back({pid, signal});
  if (children_.count(pid)) kernel_.signal(pid, signal);
  return success();  // ESRCH is not an error
}

std::optional<std::string> FakeLauncher::take_spawn_error(int pid) {
  spawn_errors_taken.push_back(pid);
  return std::nullopt;
}

void FakeLauncher::forget(int pid) {
  forgotten.push_back(pid);
  auto found = children_.find(pid);
  if (found != children_.end()) found->second.forgotten = true;
}

void FakeLauncher::fail_next(int n, std::string message) {
  failures_left_ = n;
  failure_message_ = std::move(message);
}

void FakeLauncher::reaped(int pid, std::int64_t exit_status, int term_signal) {
  auto found = children_.find(pid);
  if (found == children_.end()) return;
  Child child = std::move(found->second);
  children_.erase(found);
  if (!child.forgotten && child.on_exit) child.on_exit(pid, exit_status, term_signal);
}

std::vector<FakeLauncher::LaunchRecord> FakeLauncher::launches_of(
    const std::string& program) const {
  std::vector<LaunchRecord> found;
  for (const auto& record : launches)
    if (record.program == program) found.push_back(record);
  return found;
}

int FakeLauncher::last_pid(const std::string& program) const {
  for (auto it = launches.rbegin(); it != launches.rend(); ++it)
    if (it->program == program) return it->pid;
  return 0;
}

bool FakeLauncher::was_signalled(int pid, int signal) const {
  return std::any_of(signals.begin(), signals.end(),
                     [&](const SignalRecord& s) { return s.pid == pid && s.signal == signal; });
}

bool FakeLauncher::was_forgotten(int pid) const {
  return std::find(forgotten.begin(), forgotten.end(), pid) != forgotten.end();
}

// ---------------------------------------------------------------------------------------------
// Driving the loop

std::string program_yaml(const std::string& name, const std::string& extra) {
  std::string block = "  " + name + ":\n    command: [\"/bin/fake\", \"" + name + "\"]\n" + extra;
  for (const char* line :
       {"    start: {settle: 10ms}\n", "    stop: {timeout: 50ms}\n",
        "    restart: {policy: on-failure, backoff: {initial: 10ms, max: 10ms, jitter: 0}, "
        "limit: {burst: 100, interval: 60s}}\n",
        "    stdout: {file: \"null\"}\n", "    stderr: {file: \"null\"}\n"}) {
    std::string text(line);
    std::string key = text.substr(0, text.find(':') + 1);
    if (extra.find(key) == std::string::npos) block += text;
  }
  return block;
}

LoopOwner::LoopOwner() {
  uv_loop_init(&loop_);
}

LoopOwner::~LoopOwner() {
  // Handles closed by the fakes and the manager are freed in their close callbacks.
  for (int i = 0; i < 3; ++i) uv_run(&loop_, UV_RUN_NOWAIT);
  int rc = uv_loop_close(&loop_);
  CHECK_MESSAGE(rc == 0, "a handle is still open on the test loop");
}

namespace {
// Quiet unless asked (CLIMITS_TEST_LOG=1): the runners log every transition.
spdlog::level::level_enum quiet_logs() {
  auto before = spdlog::get_level();
  if (std::getenv("CLIMITS_TEST_LOG") == nullptr) spdlog::set_level(spdlog::level::off);
  return before;
}
spdlog::level::level_enum g_level_before = spdlog::level::info;
}  // namespace

World::World(cgroup::Version version) : kernel(&loop_), backend(kernel, version), launcher(kernel) {
  g_level_before = quiet_logs();
  manager = std::make_unique<supervisor::Manager>(&loop_, backend, launcher);
  manager->set_observer([this](const supervisor::ProgramRunner& runner, supervisor::State from,
                               supervisor::State to) {
    transitions.push_back({runner.program().name, from, to});
    if (on_transition) on_transition(transitions.back());
  });
}

World::~World() {
  on_transition = nullptr;
  if (manager && !manager->shutting_down()) shut_down();
  manager.reset();
  spdlog::set_level(g_level_before);
}

void World::start(const std::string& programs_yaml) {
  auto loaded = config::load_config_text("programs:\n" + programs_yaml, "test.yaml", "/tmp");
  std::string errors;
  for (const auto& e : loaded.errors) errors += e.to_string() + "\n";
  REQUIRE_MESSAGE(loaded.config.has_value(), errors);
  auto started = manager->start(*loaded.config);
  REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.error().message));
}

supervisor::ReloadResult World::reload(const std::string& programs_yaml) {
  auto loaded = config::load_config_text("programs:\n" + programs_yaml, "test.yaml", "/tmp");
  std::string errors;
  for (const auto& e : loaded.errors) errors += e.to_string() + "\n";
  REQUIRE_MESSAGE(loaded.config.has_value(), errors);
  return manager->reload(*loaded.config);
}

bool World::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  return run_loop_until(&loop_, done, timeout);
}

void World::run_for(std::chrono::milliseconds duration) {
  run_loop_until(
      &loop_, [] { return false; }, duration);
}

supervisor::ProgramRunner& World::runner(const std::string& name) {
  auto* found = manager->find(name);
  if (found == nullptr) FAIL("no program " << name);  // an assertion only when it fails
  return *found;
}

supervisor::ProgramStatus World::status(const std::string& name) {
  for (auto& status : manager->status())
    if (status.name == name) return status;
  FAIL("no status for " << name);
  return {};
}

std::vector<supervisor::State> World::entered(const std::string& name) const {
  std::vector<supervisor::State> states;
  for (const auto& seen : transitions)
    if (seen.program == name) states.push_back(seen.to);
  return states;
}

bool World::wait_for(const std::string& name, supervisor::State state,
                     std::chrono::milliseconds timeout) {
  return run_until([&] { return runner(name).state() == state; }, timeout);
}

bool World::shut_down(std::chrono::milliseconds timeout) {
  int before = shutdowns_done;
  manager->shutdown([this] { ++shutdowns_done; });
  return run_until([&] { return shutdowns_done > before; }, timeout);
}

}  // namespace climits::fake
