#include "app/daemon.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <uv.h>

#include <csignal>
#include <cstring>
#include <iostream>

#include "app/check_command.h"
#include "app/coalesced_signals.h"
#include "app/logging.h"
#include "app/notify.h"
#include "build_info.h"
#include "cgroup/backend.h"
#include "cgroup/layout.h"
#include "cgroup/placement.h"
#include "config/loader.h"
#include "control/handler.h"
#include "control/listener.h"
#include "control/server.h"
#include "supervisor/launcher.h"
#include "supervisor/manager.h"

namespace climits::app {

namespace {

// The soft open-file limit is 1024 by default (systemd's too) while the hard one is far
// higher, and every program holds several descriptors in the manager (estimate_descriptors):
// like systemd and supervisord's minfds, the manager raises its soft limit to the hard one,
// and the helper gives programs the original soft limit back (select() users need it).
struct FileLimit {
  rlim_t original_soft;  // what programs get
  rlim_t soft;           // the manager's own, after raising
};

FileLimit raise_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return {1024, 1024};
  FileLimit result{limit.rlim_cur, limit.rlim_cur};
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0)
    spdlog::warn("cannot raise the open-file limit from {} to {}: {}", result.soft, limit.rlim_max,
                 std::strerror(errno));
  else
    result.soft = limit.rlim_max;
  return result;
}

rlim_t current_file_limit() {
  rlimit limit{};
  return ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : 1024;
}

// "1000 programs need about 6064 open files, more than the limit of 256": for the start-up
// refusal and the reload refusal, with the fix.
std::string too_many_descriptors(std::size_t programs, std::size_t needed, rlim_t limit) {
  return std::to_string(programs) + (programs == 1 ? " program needs" : " programs need") +
         " about " + std::to_string(needed) + " open files, more than the open-file limit of " +
         std::to_string(limit) + " (RLIMIT_NOFILE); " + descriptor_advice(needed);
}

struct Daemon {
  uv_loop_t loop;
  CoalescedSignals signals;
  std::unique_ptr<supervisor::Manager> manager;
  std::unique_ptr<control::Handler> control_handler;
  std::unique_ptr<control::Server> control;  // closed before the manager goes
  ServiceNotifier notifier;
  // STATUS= is sent once things settle after a burst of transitions, not for each one.
  uv_timer_t status_timer;

  void schedule_status() {
    if (!notifier.enabled() || uv_is_active(reinterpret_cast<uv_handle_t*>(&status_timer))) return;
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
  cgroup::Version cgroup_version = cgroup::Version::v1;  // for the descriptor estimate of a reload

  // Re-reads the file; an invalid or missing file changes nothing. The reply for
  // `climits-ctl reload`.
  // A reload that changes nothing: the reply, and the same for `events` listeners.
  control::Json refuse_reload(const std::string& summary, const std::vector<std::string>& errors) {
    if (manager->events().has_listeners())
      manager->events().publish(supervisor::ReloadRefused{summary, errors});
    return control::reload_refused(summary, errors);
  }

  control::Json reload() {
    if (manager->shutting_down())
      return refuse_reload("not reloaded: the manager is shutting down",
                           {"the manager is shutting down"});
    auto loaded = config::load_config_file(config_path);
    if (!loaded.config) {
      std::vector<std::string> errors;
      for (const auto& error : loaded.errors) errors.push_back(error.to_string());
      std::string summary = "configuration not valid (" + std::to_string(loaded.errors.size()) +
                            (loaded.errors.size() == 1 ? " error" : " errors") +
                            "); the running configuration stays";
      spdlog::error("reload: {}", summary);
      for (const auto& error : errors) spdlog::error("{}", error);
      return refuse_reload(summary, errors);
    }
    // Checked before anything is touched: the old configuration keeps running whole.
    rlim_t limit = current_file_limit();
    if (std::size_t needed = estimate_descriptors(*loaded.config, cgroup_version); needed > limit) {
      std::string why = too_many_descriptors(loaded.config->programs.size(), needed, limit);
      spdlog::error("reload: refused: {}; the running configuration stays", why);
      return refuse_reload(
          "not enough file descriptors for the new configuration; the running configuration "
          "stays",
          {why});
    }
    const auto& before = manager->config().manager;
    const auto& after = loaded.config->manager;
    set_log_level(log_level_override.value_or(after.log_level));
    // Where the manager itself lives cannot move under running programs.
    if (before.cgroup_root != after.cgroup_root || before.control_socket != after.control_socket ||
        before.control_group != after.control_group)
      spdlog::warn(
          "reload: manager.cgroup_root, control_socket and control_group take effect "
          "only when the manager restarts");
    notifier.send("RELOADING=1\nSTATUS=reloading " + config_path);
    auto result = manager->reload(*loaded.config);
    notifier.send("READY=1\nSTATUS=" + manager->summary());
    return control::reload_response(result);
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
  daemon.control_handler =
      std::make_unique<control::Handler>(*daemon.manager, [&daemon] { return daemon.reload(); });
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

// What the daemon takes from the host before anything runs. Each refusal is logged, and
// leaves nothing behind.
struct Host {
  control::AccessRule access;
  control::Listener listener;
  cgroup::Version cgroup_version;
  FileLimit file_limit;
  std::unique_ptr<cgroup::Backend> backend;
  std::string helper;
};

std::optional<Host> prepare_host(const config::Config& config) {
  // The control socket before any cgroup: a second manager on the same socket stops here,
  // before it could take the running one's programs for leftovers and clear them.
  auto access = control::make_access_rule(config.manager.control_group);
  if (!access) {
    spdlog::error("control socket: {}", access.error().message);
    return std::nullopt;
  }
  auto listener = control::Listener::open(config.manager.control_socket, access->group);
  if (!listener) {
    spdlog::error("control socket: {}", listener.error().message);
    return std::nullopt;
  }
  if (listener->replaced_stale())
    spdlog::warn("control socket: replaced {}, left by a manager that did not shut down cleanly",
                 listener->path());

  auto layout = cgroup::detect_layout();
  if (!layout) {
    spdlog::error("cgroups: {}", layout.error().message);
    return std::nullopt;
  }
  // Checked before any cgroup exists or any program runs: a refusal leaves nothing behind.
  FileLimit file_limit = raise_file_limit();
  if (std::size_t needed = estimate_descriptors(config, layout->version);
      needed > file_limit.soft) {
    spdlog::error("not enough file descriptors: {}; nothing was started",
                  too_many_descriptors(config.programs.size(), needed, file_limit.soft));
    return std::nullopt;
  }
  cgroup::PlacementNotes notes;
  auto backend = cgroup::open_backend(*layout, config.manager.cgroup_root, &notes);
  for (const auto& note : notes) spdlog::info("{}", note);
  if (!backend) {
    spdlog::error("cgroups: {}", backend.error().message);
    return std::nullopt;
  }
  spdlog::info("{}; {}", layout->describe(), (*backend)->describe());
  auto helper = supervisor::find_helper();
  if (!helper) {
    spdlog::error("{}", helper.error().message);
    return std::nullopt;
  }
  return Host{std::move(*access), std::move(*listener), layout->version,
              file_limit,         std::move(*backend),  std::move(*helper)};
}

// Starts the programs, then the control socket, then tells systemd; on a failure, shuts the
// manager down (the loop then ends) and returns the exit code.
int start_programs(Daemon& daemon, config::Config config, Host& host) {
  if (auto started = daemon.manager->start(std::move(config)); !started) {
    spdlog::error("{}", started.error().message);
    daemon.manager->shutdown([&daemon] { uv_stop(&daemon.loop); });
    return kExitEnvironmentError;
  }
  spdlog::info("started: {}", daemon.manager->summary());
  if (!start_control(daemon, std::move(host.listener), host.access)) {
    daemon.manager->shutdown([&daemon] { uv_stop(&daemon.loop); });
    return kExitEnvironmentError;
  }
  daemon.manager->set_observer([&daemon](const supervisor::ProgramRunner&, supervisor::State,
                                         supervisor::State) { daemon.schedule_status(); });
  daemon.notifier.send("READY=1\nSTATUS=" + daemon.manager->summary());
  return kExitOk;
}

// Once the loop has ended: closes the socket, the manager and the loop, and removes a cgroup
// root the manager made when nothing was left behind.
int shut_down(Daemon& daemon, cgroup::Backend& backend, int exit_code) {
  // No signal is handled from here on (CoalescedSignals::close).
  daemon.signals.close();
  daemon.control.reset();  // removes the socket file
  daemon.control_handler.reset();
  if (exit_code == kExitOk && !daemon.manager->left_nothing_behind()) {
    spdlog::error("shutdown left program cgroups behind (see above); the next start clears them");
    exit_code = kExitEnvironmentError;
  }
  // Output pipes still open then are held by processes that left their cgroups: the
  // manager reads what they hold and closes them (reading on would keep the loop, and the
  // manager, alive for as long as those live).
  daemon.manager.reset();
  if (exit_code == kExitOk) {
    if (auto removed = backend.remove_root_if_created(); !removed)
      spdlog::warn("cgroups: {}", removed.error().message);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&daemon.status_timer), nullptr);
  uv_run(&daemon.loop, UV_RUN_DEFAULT);  // let the close callbacks free their handles
  if (uv_loop_close(&daemon.loop) != 0) spdlog::debug("loop closed with handles still open");
  if (exit_code == kExitOk) spdlog::info("clean shutdown");
  return exit_code;
}

}  // namespace

// Counted from the code; keep in step with it.
// - The manager itself: stdin/out/err, the loop's epoll fd, libuv's two signal pipes, its
//   async eventfd and its spare fd for accept() under EMFILE, the cgroup root lock, the
//   control socket, the notify socket, inotify (v2: one for all memory.events watches); and
//   what is open only for a moment: the write ends and uv_spawn's own error pipe during a
//   spawn, a cgroup file being read, the configuration file. 32 covers them with room.
// - Control connections: 32 at a time are set aside. More clients at once may meet EMFILE,
//   which libuv answers by closing them, or the server by pausing (control/server.cc).
// - Per program: what the cgroup layer keeps open (cgroup::descriptors_per_program: the OOM
//   eventfd on v1, v2 sharing the inotify fd; the memory usage and peak files); and (ProgramRunner,
//   Launcher) for each stream that goes to a file, the open log file (LogFile, kept across runs)
//   and, while it runs, the read end of its pipe; the read end of the helper's status pipe until
//   the helper has exec'd (StatusReports closes it then; counted for every program, as a start of
//   all of them may find their helpers slow). Not counted: a run's pipes that outlive it for a
//   moment (restarts with no backoff), a replacement staged during an OOM kill (its gate and output
//   pipes, for the milliseconds of the kill), and pipes held open by processes that left their
//   cgroup.
std::size_t estimate_descriptors(const config::Config& config, cgroup::Version version) {
  constexpr std::size_t kManager = 32;
  constexpr std::size_t kControl = 32;
  std::size_t total = kManager + kControl;
  for (const auto& program : config.programs) {
    total += 1 + cgroup::descriptors_per_program(version);
    for (const auto* output : {&program.stdout_output, &program.stderr_output})
      if (output->target == config::OutputTarget::file) total += 2;
  }
  return total;
}

std::string descriptor_advice(std::size_t needed) {
  // Rounded up to a multiple of 1024: room for growth, and a number people recognise.
  std::string suggested = std::to_string((needed + 1023) / 1024 * 1024);
  return "raise it with LimitNOFILE=" + suggested +
         " in the unit (systemctl edit climits-manager), or ulimit -n " + suggested +
         " in the shell that starts climits-manager";
}

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
               options.config_path, config.programs.size(), config.programs.size() == 1 ? "" : "s");
  auto host = prepare_host(config);
  if (!host) return kExitEnvironmentError;
  ::signal(SIGPIPE, SIG_IGN);

  Daemon daemon;
  daemon.config_path = options.config_path;
  daemon.log_level_override = options.log_level;
  daemon.cgroup_version = host->cgroup_version;
  uv_loop_init(&daemon.loop);
  uv_timer_init(&daemon.loop, &daemon.status_timer);
  daemon.status_timer.data = &daemon;
  supervisor::Launcher launcher(&daemon.loop, host->helper, host->file_limit.original_soft);
  daemon.manager = std::make_unique<supervisor::Manager>(&daemon.loop, *host->backend, launcher);
  daemon.signals.start(&daemon.loop, [&daemon](int signal) { daemon.on_signal(signal); });
  // The manager takes the configuration over (one copy fewer to fork with; `config` is
  // not used again).
  int exit_code = start_programs(daemon, std::move(*loaded.config), *host);
  uv_run(&daemon.loop, UV_RUN_DEFAULT);
  return shut_down(daemon, *host->backend, exit_code);
}

}  // namespace climits::app
