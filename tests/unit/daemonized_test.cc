// The warning for a program that forked itself into the background while it settled.
#include "supervisor/daemonized.h"

#include <doctest/doctest.h>

using climits::supervisor::daemonized_warning;

namespace {

climits::config::Program program(const std::string& name, const std::string& command) {
  climits::config::Program p;
  p.name = name;
  p.command = {command, "--flag"};
  return p;
}

}  // namespace

TEST_CASE("daemonized: a well-known daemon gets its own foreground option") {
  CHECK(daemonized_warning(program("cache", "/usr/bin/redis-server"), 1) ==
        "cache: its main process exited 0 during its settle time and left 1 process in its "
        "cgroup: it probably daemonized; run it in the foreground (for example redis-server "
        "--daemonize no)");
  CHECK(
      daemonized_warning(program("web", "nginx"), 3).find("(for example nginx -g 'daemon off;')") !=
      std::string::npos);
}

TEST_CASE("daemonized: any other program gets the generic hint, and the count") {
  CHECK(daemonized_warning(program("app", "/opt/app/bin/appd"), 2) ==
        "app: its main process exited 0 during its settle time and left 2 processes in its "
        "cgroup: it probably daemonized; run it in the foreground (its option for that is often "
        "called --foreground, --nodaemon or --no-daemonize)");
  // A name that only contains a known one is not it.
  CHECK(daemonized_warning(program("x", "/usr/bin/my-nginx"), 1).find("for example") ==
        std::string::npos);
}
