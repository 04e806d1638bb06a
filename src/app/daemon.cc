#include "app/daemon.h"

#include <malloc.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <uv.h>

#include <csignal>
#include <iostream>

#include "app/check_command.h"
#include "app/logging.h"
#include "app/notify.h"
#include "build_info.h"
#include "cgroup/layout.h"
#include "cgroup/placement.h"
#include "config/loader.h"
#include "control/handler.h"
#include "control/listener.h"
#include "control/server.h"
#include "supervisor/launcher.h"
#include "supervisor/manager.h"
#include "supervisor/output_log.h"

namespace climits::app {

namespace {

// Every program holds a few descriptors in the manager (an OOM eventfd on v1, the helper's
// status pipe while starting): raise the soft limit to the hard one, and give programs the
// usual soft limit back through the helper.
rlim_t raise_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  rlim_t original = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0)
    spdlog::warn("cannot raise the open-file limit: {}", std::strerror(errno));
  return original;
}

// The loop's signal handles; each callback is a bridge into the daemon.
struct Signals {
  uv_signal_t handles[4];
  static constexpr int kNumbers[4] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};

  void start(uv_loop_t* loop, void* owner, uv_signal_cb callback) {
    for (int i = 0; i < 4; ++i) {
      uv_signal_init(loop, &handles[i]);
      handles[i].data = owner;
      uv_signal_start(&handles[i], callback, kNumbers[i]);
    }
  }
  void close() {
    for (auto& handle : handles) uv_close(reinterpret_cast<uv_handle_t*>(&handle), nullptr);
  }
};

struct Daemon {
  uv_loop_t loop;
  Signals signals;
  std::unique_ptr<supervisor::Manager> manager;
  std::unique_ptr<control::Handler> control_handler;
  std::unique_ptr<control::Server> control;  // closed before the manager goes
  ServiceNotifier notifier;
  // STATUS= is sent once things settle after a burst of transitions, not for each one.
  uv_timer_t status_timer;

  void schedule_status() {
    if (!notifier.enabled() || uv_is_active(reinterpret_cast<uv_handle_t*>(&status_timer)))
      return;
    uv_timer_start(
        &status_timer,
        [](uv_timer_t* timer) {
          auto* self = static_cast<Daemon*>(timer->data);
          if (self->manager) self->notifier.send("STATUS=" + self->manager->summary());
        },
        100, 0);
  }
  std::string config_path;
  std::optional<config::LogLevel> log_level_override;

  // Re-reads the file; an invalid or missing file changes nothing.
  ReloadOutcome reload() {
    ReloadOutcome outcome;
    if (manager->shutting_down()) {
      outcome.errors.push_back("the manager is shutting down");
      outcome.summary = "not reloaded: the manager is shutting down";
      return outcome;
    }
    auto loaded = config::load_config_file(config_path);
    if (!loaded.config) {
      for (const auto& error : loaded.errors) outcome.errors.push_back(error.to_string());
      outcome.summary = "configuration not valid (" + std::to_string(loaded.errors.size()) +
                        (loaded.errors.size() == 1 ? " error" : " errors") +
                        "); the running configuration stays";
      spdlog::error("reload: {}", outcome.summary);
      for (const auto& error : outcome.errors) spdlog::error("{}", error);
      return outcome;
    }
    const auto& before = manager->config().manager;
    const auto& after = loaded.config->manager;
    set_log_level(log_level_override.value_or(after.log_level));
    // Where the manager itself lives cannot move under running programs.
    if (before.cgroup_root != after.cgroup_root || before.control_socket != after.control_socket ||
        before.control_group != after.control_group)
      spdlog::warn("reload: manager.cgroup_root, control_socket and control_group take effect "
                   "only when the manager restarts");
    notifier.send("RELOADING=1\nSTATUS=reloading " + config_path);
    auto result = manager->reload(*loaded.config);
    notifier.send("READY=1\nSTATUS=" + manager->summary());
    outcome.ok = result.errors.empty();
    outcome.errors = result.errors;
    outcome.summary = result.summary();
    return outcome;
  }

  void on_signal(int signal) {
    switch (signal) {
      case SIGTERM:
      case SIGINT:
        spdlog::info("{} received", signal == SIGTERM ? "SIGTERM" : "SIGINT");
        notifier.send("STOPPING=1\nSTATUS=stopping every program");
        manager->shutdown([this] { uv_stop(&loop); });
        break;
      case SIGHUP:
        spdlog::info("SIGHUP received: reloading {}", config_path);
        reload();
        break;
      case SIGUSR1:
        spdlog::info("SIGUSR1 received: reopening program output files");
        manager->reopen_logs();
        break;
    }
  }
};

// Serves the control socket on the loop: requests reach the manager and Daemon::reload().
bool start_control(Daemon& daemon, control::Listener listener, const control::AccessRule& access) {
  daemon.control_handler = std::make_unique<control::Handler>(*daemon.manager, [&daemon] {
    auto outcome = daemon.reload();
    return control::reload_response(outcome.ok, outcome.summary, outcome.errors);
  });
  auto server = control::Server::start(
      &daemon.loop, std::move(listener), access,
      [handler = daemon.control_handler.get()](std::string_view line, const control::Peer& peer) {
        return handler->respond(line, peer);
      });
  if (!server) {
    spdlog::error("control socket: {}", server.error().message);
    return false;
  }
  daemon.control = std::move(*server);
  spdlog::info("control socket: {}", daemon.control->path());
  return true;
}

}  // namespace

int run_daemon(const DaemonOptions& options) {
  auto loaded = config::load_config_file(options.config_path);
  if (!loaded.config) {
    for (const auto& error : loaded.errors) std::cerr << error.to_string() << '\n';
    std::cerr << "climits-manager: " << options.config_path << " is not valid ("
              << loaded.errors.size() << (loaded.errors.size() == 1 ? " error" : " errors")
              << "); nothing was started\n";
    return kExitConfigError;
  }
  const config::Config& config = *loaded.config;
  setup_logging(options.log_level.value_or(config.manager.log_level));
  spdlog::info("climits-manager {} starting with {} ({} program{})", CLIMITS_VERSION,
               options.config_path, config.programs.size(),
               config.programs.size() == 1 ? "" : "s");

  // The control socket before any cgroup: a second manager on the same socket stops here,
  // before it could take the running one's programs for leftovers and clear them.
  auto access = control::make_access_rule(config.manager.control_group);
  if (!access) {
    spdlog::error("control socket: {}", access.error().message);
    return kExitEnvironmentError;
  }
  auto listener = control::Listener::open(config.manager.control_socket, access->group);
  if (!listener) {
    spdlog::error("control socket: {}", listener.error().message);
    return kExitEnvironmentError;
  }
  if (listener->replaced_stale())
    spdlog::warn("control socket: replaced {}, left by a manager that did not shut down cleanly",
                 listener->path());

  auto layout = cgroup::detect_layout();
  if (!layout) {
    spdlog::error("cgroups: {}", layout.error().message);
    return kExitEnvironmentError;
  }
  auto backend = cgroup::open_backend(*layout, config.manager.cgroup_root);
  if (!backend) {
    spdlog::error("cgroups: {}", backend.error().message);
    return kExitEnvironmentError;
  }
  spdlog::info("{}; {}", layout->describe(), (*backend)->describe());
  auto helper = supervisor::find_helper();
  if (!helper) {
    spdlog::error("{}", helper.error().message);
    return kExitEnvironmentError;
  }
  rlim_t program_file_limit = raise_file_limit();
  ::signal(SIGPIPE, SIG_IGN);

  Daemon daemon;
  daemon.config_path = options.config_path;
  daemon.log_level_override = options.log_level;
  uv_loop_init(&daemon.loop);
  uv_timer_init(&daemon.loop, &daemon.status_timer);
  daemon.status_timer.data = &daemon;
  supervisor::Launcher launcher(&daemon.loop, *helper, program_file_limit);
  daemon.manager = std::make_unique<supervisor::Manager>(&daemon.loop, **backend, launcher);
  daemon.signals.start(&daemon.loop, &daemon, [](uv_signal_t* handle, int signal) {
    static_cast<Daemon*>(handle->data)->on_signal(signal);
  });
  int exit_code = kExitOk;
  if (auto started = daemon.manager->start(config); !started) {
    spdlog::error("{}", started.error().message);
    exit_code = kExitEnvironmentError;
    daemon.manager->shutdown([&daemon] { uv_stop(&daemon.loop); });
  } else {
    spdlog::info("started: {}", daemon.manager->summary());
    if (!start_control(daemon, std::move(*listener), *access)) {
      exit_code = kExitEnvironmentError;
      daemon.manager->shutdown([&daemon] { uv_stop(&daemon.loop); });
    } else {
      daemon.manager->set_observer(
          [&daemon](const supervisor::ProgramRunner&, supervisor::State, supervisor::State) {
            daemon.schedule_status();
          });
      daemon.notifier.send("READY=1\nSTATUS=" + daemon.manager->summary());
    }
  }
  loaded = config::LoadResult{};  // the manager keeps its own copy; `config` is not used again
  ::malloc_trim(0);               // and give the parser's garbage back
  uv_run(&daemon.loop, UV_RUN_DEFAULT);

  // No signal is handled from here on, and closing the signal handles gives SIGHUP and
  // SIGUSR1 their default action back (terminate): one arriving now (a logrotate, a reload
  // sent together with the stop) must not turn a clean shutdown into a death by signal.
  // Blocked, they stay pending and go with the process.
  sigset_t late;
  sigemptyset(&late);
  for (int number : Signals::kNumbers) sigaddset(&late, number);
  ::pthread_sigmask(SIG_BLOCK, &late, nullptr);

  daemon.control.reset();  // removes the socket file
  daemon.control_handler.reset();
  if (exit_code == kExitOk && !daemon.manager->left_nothing_behind()) {
    spdlog::error("shutdown left program cgroups behind (see above); the next start clears them");
    exit_code = kExitEnvironmentError;
  }
  daemon.manager.reset();
  // Output pipes still open now are held by processes that left their cgroups; reading
  // them would keep the loop, and the manager, alive for as long as those live.
  supervisor::close_drains(&daemon.loop);
  daemon.signals.close();
  uv_close(reinterpret_cast<uv_handle_t*>(&daemon.status_timer), nullptr);
  uv_run(&daemon.loop, UV_RUN_DEFAULT);  // let the close callbacks free their handles
  if (uv_loop_close(&daemon.loop) != 0) spdlog::debug("loop closed with handles still open");
  if (exit_code == kExitOk) spdlog::info("clean shutdown");
  return exit_code;
}

}  // namespace climits::app
