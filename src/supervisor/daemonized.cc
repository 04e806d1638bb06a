#include "supervisor/daemonized.h"

#include <string_view>

namespace climits::supervisor {

namespace {

// Daemons people most often put under a supervisor, by the file name of command[0], and how
// each stays in the foreground. Kept tiny on purpose: the generic hint covers the rest.
struct ForegroundOption {
  std::string_view command;
  std::string_view how;
};
constexpr ForegroundOption kForegroundOptions[] = {
    {"redis-server", "redis-server --daemonize no"},
    {"nginx", "nginx -g 'daemon off;'"},
    {"pg_ctl", "postgres -D DATADIR instead of pg_ctl"},
    {"sshd", "sshd -D"},
    {"apache2", "apache2 -DFOREGROUND"},
    {"httpd", "httpd -DFOREGROUND"},
    {"php-fpm", "php-fpm --nodaemonize"},
    {"memcached", "memcached without -d"},
};

std::string_view file_name(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string foreground_hint(const config::Program& program) {
  std::string_view name = program.command.empty() ? "" : file_name(program.command.front());
  for (const auto& known : kForegroundOptions)
    if (name == known.command) return "for example " + std::string(known.how);
  return "its option for that is often called --foreground, --nodaemon or --no-daemonize";
}

}  // namespace

std::string daemonized_warning(const config::Program& program, std::size_t processes_left) {
  return program.name + ": its main process exited 0 during its settle time and left " +
         std::to_string(processes_left) + (processes_left == 1 ? " process" : " processes") +
         " in its cgroup: it probably daemonized; run it in the foreground (" +
         foreground_hint(program) + ")";
}

}  // namespace climits::supervisor
