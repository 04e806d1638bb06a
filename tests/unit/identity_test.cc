// What a resolved identity means at a start: the helper's arguments and the environment.
#include "supervisor/identity.h"

#include <doctest/doctest.h>

using namespace climits;
using supervisor::identity_arguments;
using supervisor::program_environment;

namespace {

config::Program run_as_postgres() {
  config::Program program;
  program.user = "postgres";
  config::Identity identity;
  identity.uid = 105;
  identity.gid = 110;
  identity.groups = {110, 4};
  identity.user_entry = config::UserEntry{"postgres", 110, "/var/lib/postgresql", "/bin/bash"};
  program.identity = identity;
  return program;
}

}  // namespace

TEST_CASE("identity: the helper gets numbers") {
  CHECK(identity_arguments(*run_as_postgres().identity) ==
        std::vector<std::string>{"--uid", "105", "--gid", "110", "--groups", "110,4"});
  config::Identity group_only;
  group_only.gid = 65534;
  group_only.groups = {65534};
  CHECK(identity_arguments(group_only) ==
        std::vector<std::string>{"--gid", "65534", "--groups", "65534"});
}

TEST_CASE("identity: a user's HOME, USER, LOGNAME and SHELL, as systemd sets them") {
  config::Program program = run_as_postgres();
  program.environment = {{"PGDATA", "/srv/pg"}};
  CHECK(program_environment(program) ==
        std::map<std::string, std::string>{{"HOME", "/var/lib/postgresql"},
                                           {"LOGNAME", "postgres"},
                                           {"PGDATA", "/srv/pg"},
                                           {"SHELL", "/bin/bash"},
                                           {"USER", "postgres"}});
}

TEST_CASE("identity: the program's own environment wins") {
  config::Program program = run_as_postgres();
  program.environment = {{"HOME", "/srv/home"}, {"SHELL", "/bin/sh"}};
  auto environment = program_environment(program);
  CHECK(environment.at("HOME") == "/srv/home");
  CHECK(environment.at("SHELL") == "/bin/sh");
  CHECK(environment.at("USER") == "postgres");
}

TEST_CASE("identity: without a passwd entry nothing is added") {
  config::Program program;
  program.environment = {{"A", "1"}};
  CHECK(program_environment(program) == program.environment);  // no user
  config::Identity numeric;
  numeric.uid = 2999999;
  numeric.gid = 0;
  numeric.groups = {0};
  program.identity = numeric;
  CHECK(program_environment(program) == program.environment);  // a uid with no entry
}
