// The configuration read into the model: every key, defaults, inheritance, paths.
#include <doctest/doctest.h>

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/loader.h"
#include "tests/unit/loader_support.h"

using namespace climits::config;
using namespace climits::config::test;

// ---------------------------------------------------------------------------------------------
// Every key, read into the model.

TEST_CASE("a minimal program gets every default") {
  auto result = load("programs:\n  web:\n    command: [\"./web\", \"-v\"]\n");
  const Program& p = only_program(result);
  CHECK(p.name == "web");
  CHECK(p.command == std::vector<std::string>{"/etc/app/web", "-v"});
  CHECK(p.directory == "/etc/app");
  CHECK(p.environment.empty());
  CHECK(!p.user.has_value());
  CHECK(!p.group.has_value());
  CHECK(!p.umask.has_value());
  CHECK(p.autostart);
  CHECK(!p.memory.max.has_value());
  CHECK(!p.memory.high.has_value());
  CHECK(!p.memory.swap_max.has_value());
  CHECK(!p.memory.swappiness.has_value());
  CHECK(p.memory.oom_policy == OomPolicy::stop);
  CHECK(!p.pids_max.has_value());
  CHECK(p.restart.policy == RestartPolicy::on_failure);
  CHECK(p.restart.backoff.initial == Duration{1000});
  CHECK(p.restart.backoff.max == Duration{60000});
  CHECK(p.restart.backoff.factor == 2.0);
  CHECK(p.restart.backoff.jitter == doctest::Approx(0.1));
  CHECK(p.restart.reset_after == Duration{60000});
  CHECK(p.restart.limit.burst == 5);
  CHECK(p.restart.limit.interval == Duration{120000});
  CHECK(p.start_settle == Duration{1000});
  CHECK(p.stop.signal == SIGTERM);
  CHECK(p.stop.timeout == Duration{10000});
  CHECK(p.stdout_output.target == OutputTarget::file);
  CHECK(p.stdout_output.automatic);
  CHECK(p.stdout_output.path == "/var/log/climits-manager/web.stdout.log");
  CHECK(p.stderr_output.path == "/var/log/climits-manager/web.stderr.log");
  CHECK(p.stdout_output.max_size == 10ull << 20);
  CHECK(p.stdout_output.keep == 5);
  const auto& m = result.config->manager;
  CHECK(m.cgroup_root == "auto");
  CHECK(m.control_socket == "/run/climits-manager/control.sock");
  CHECK(!m.control_group.has_value());
  CHECK(m.log_level == LogLevel::info);
  CHECK(m.log_dir == "/var/log/climits-manager");
  CHECK(result.config->source_path == "t.yaml");
}

TEST_CASE("manager: every key") {
  auto result = load(R"(version: 1
manager:
  cgroup_root: /sys/fs/cgroup/./climits//x
  control_socket: /run/c.sock
  control_group: root
  log_level: trace
  log_dir: /srv/logs
programs: {}
)");
  const Config& config = accepted(result);
  CHECK(config.programs.empty());
  CHECK(config.manager.cgroup_root == "/sys/fs/cgroup/climits/x");
  CHECK(config.manager.control_socket == "/run/c.sock");
  CHECK(config.manager.control_group == "root");
  CHECK(config.manager.log_level == LogLevel::trace);
  CHECK(config.manager.log_dir == "/srv/logs");

  // Not structured bindings: clang 14 cannot capture one in doctest's lambdas.
  for (auto entry : {std::pair{"debug", LogLevel::debug},
                     {"info", LogLevel::info},
                     {"warn", LogLevel::warn},
                     {"error", LogLevel::error}}) {
    auto r = load(std::string("manager: {log_level: ") + entry.first + "}\nprograms: {}\n");
    CHECK(accepted(r).manager.log_level == entry.second);
  }
  // A numeric group id that exists (root's) is accepted like a name.
  CHECK(accepted(load("manager: {control_group: 0}\nprograms: {}\n")).manager.control_group == "0");
}

TEST_CASE("program: command, directory, environment, user, group, umask, autostart") {
  auto result = load(R"(programs:
  p:
    command: ["/usr/bin/env", "--", 8080, yes]
    directory: /srv/app
    environment: {GOGC: "50", PORT: 8080, DEBUG: yes, EMPTY: ""}
    user: www-data
    group: "65534"
    umask: "027"
    autostart: no
)");
  const Program& p = only_program(result);
  // Plain scalars stay the text that was written.
  CHECK(p.command == std::vector<std::string>{"/usr/bin/env", "--", "8080", "yes"});
  CHECK(p.directory == "/srv/app");
  CHECK(p.environment == std::map<std::string, std::string>{
                             {"GOGC", "50"}, {"PORT", "8080"}, {"DEBUG", "yes"}, {"EMPTY", ""}});
  CHECK(p.user == "www-data");
  CHECK(p.group == "65534");
  CHECK(p.umask == mode_t{027});
  CHECK_FALSE(p.autostart);
}

TEST_CASE("program: user and group are resolved when the file is loaded") {
  // What the passwd and group databases say here, looked up the same way.
  const passwd* nobody = ::getpwnam("nobody");
  REQUIRE(nobody != nullptr);
  const uid_t nobody_uid = nobody->pw_uid;
  const gid_t nobody_gid = nobody->pw_gid;
  const std::string home = nobody->pw_dir, shell = nobody->pw_shell;
  const group* nogroup = ::getgrnam("nogroup");
  REQUIRE(nogroup != nullptr);
  const gid_t nogroup_gid = nogroup->gr_gid;

  SUBCASE("a user brings its passwd entry and its groups") {
    auto result = program_with("    user: nobody\n");
    const Program& p = only_program(result);
    REQUIRE(p.identity.has_value());
    CHECK(p.identity->uid == nobody_uid);
    CHECK(p.identity->gid == nobody_gid);
    CHECK(p.identity->groups == std::vector<gid_t>{nobody_gid});
    REQUIRE(p.identity->user_entry.has_value());
    CHECK(p.identity->user_entry->name == "nobody");
    CHECK(p.identity->user_entry->home == home);
    CHECK(p.identity->user_entry->shell == shell);
  }
  SUBCASE("a group replaces the user's primary group") {
    auto result = program_with("    user: nobody\n    group: \"0\"\n");
    const Program& p = only_program(result);
    REQUIRE(p.identity.has_value());
    CHECK(p.identity->uid == nobody_uid);
    CHECK(p.identity->gid == 0);
  }
  SUBCASE("a group alone changes only the group") {
    auto result = program_with("    group: nogroup\n");
    const Program& p = only_program(result);
    REQUIRE(p.identity.has_value());
    CHECK(!p.identity->uid.has_value());
    CHECK(p.identity->gid == nogroup_gid);
    CHECK(p.identity->groups == std::vector<gid_t>{nogroup_gid});
    CHECK(!p.identity->user_entry.has_value());
  }
  SUBCASE("a numeric uid without an entry keeps the manager's group and has no entry") {
    auto result = program_with("    user: 2999999999\n");
    const Program& p = only_program(result);
    REQUIRE(p.identity.has_value());
    CHECK(p.identity->uid == static_cast<uid_t>(2999999999u));
    CHECK(p.identity->gid == ::getgid());
    CHECK(!p.identity->user_entry.has_value());
  }
  SUBCASE("inherited from defaults, like the names") {
    auto result =
        load("defaults: {user: nobody}\nprograms:\n  a: {command: x}\n  b: {command: x}\n");
    const Config& config = accepted(result);
    for (const Program& p : config.programs) {
      REQUIRE(p.identity.has_value());
      CHECK(p.identity->uid == nobody_uid);
    }
  }
  SUBCASE("neither: no identity, the manager's own") {
    auto result = program_with("");
    CHECK(!only_program(result).identity.has_value());
  }
}

TEST_CASE("program: umask forms") {
  for (auto entry : {std::pair{"\"022\"", 022},
                     {"022", 022},
                     {"22", 022},
                     {"0o77", 077},
                     {"\"0007\"", 07},
                     {"0", 0},
                     {"777", 0777}}) {
    // Not a structured binding: clang 14 cannot capture one in doctest's lambdas.
    const char* text = entry.first;
    int mask = entry.second;
    auto result = program_with(std::string("    umask: ") + text + "\n");
    CHECK_MESSAGE(only_program(result).umask == mode_t(mask), text);
  }
}

TEST_CASE("program: booleans in their YAML 1.1 spellings") {
  for (const char* yes : {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"})
    CHECK_MESSAGE(only_program(program_with(std::string("    memory: {oom_group: ") + yes + "}\n"))
                          .memory.oom_policy == OomPolicy::kill,
                  yes);
  for (const char* no : {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"})
    CHECK_MESSAGE(!only_program(program_with(std::string("    autostart: ") + no + "\n")).autostart,
                  no);
}

TEST_CASE("memory: oom_policy, and oom_group as its first-release spelling") {
  CHECK(only_program(program_with("    memory: {oom_policy: continue}\n")).memory.oom_policy ==
        OomPolicy::continue_);
  CHECK(only_program(program_with("    memory: {oom_policy: stop}\n")).memory.oom_policy ==
        OomPolicy::stop);
  CHECK(only_program(program_with("    memory: {oom_policy: kill}\n")).memory.oom_policy ==
        OomPolicy::kill);
  // false changes nothing; true agrees with kill, and only with kill.
  CHECK(only_program(program_with("    memory: {oom_group: false, oom_policy: continue}\n"))
            .memory.oom_policy == OomPolicy::continue_);
  CHECK(only_program(program_with("    memory: {oom_policy: kill, oom_group: true}\n"))
            .memory.oom_policy == OomPolicy::kill);
}

TEST_CASE("memory: every key") {
  auto result = program_with(
      "    memory: {max: 60M, high: 50m, swap_max: 0, swappiness: 0, "
      "oom_group: true}\n");
  const Program& p = only_program(result);
  CHECK(p.memory.max == ByteLimit{60ull << 20});
  CHECK(p.memory.high == ByteLimit{50ull << 20});
  CHECK(p.memory.swap_max == ByteLimit{0});
  CHECK(p.memory.swappiness == 0);
  CHECK(p.memory.oom_policy == OomPolicy::kill);

  auto limits = program_with("    memory: {max: 4096, high: \"8192\", swap_max: 1}\n");
  CHECK(only_program(limits).memory.max == ByteLimit{4096});
  CHECK(only_program(limits).memory.high == ByteLimit{8192});
  CHECK(only_program(limits).memory.swap_max == ByteLimit{1});

  // max is "no limit", also over an inherited value.
  auto unlimited = load(R"(defaults:
  memory: {max: 1G, high: 1G, swap_max: 1G}
programs:
  p:
    command: x
    memory: {max: max, high: max, swap_max: max, swappiness: 100}
)");
  const Program& u = only_program(unlimited);
  CHECK(!u.memory.max.has_value());
  CHECK(!u.memory.high.has_value());
  CHECK(!u.memory.swap_max.has_value());
  CHECK(u.memory.swappiness == 100);
}

TEST_CASE("pids_max: a count or max") {
  CHECK(only_program(program_with("    pids_max: 256\n")).pids_max == ByteLimit{256});
  CHECK(only_program(program_with("    pids_max: 4194304\n")).pids_max == ByteLimit{4194304});
  auto unlimited = load("defaults: {pids_max: 10}\nprograms:\n  p: {command: x, pids_max: max}\n");
  CHECK(!only_program(unlimited).pids_max.has_value());
  auto inherited = load("defaults: {pids_max: 10}\nprograms:\n  p: {command: x}\n");
  CHECK(only_program(inherited).pids_max == ByteLimit{10});
}

TEST_CASE("restart: every key") {
  auto result = program_with(R"(    restart:
      policy: on-oom
      backoff: {initial: 250ms, max: 2m, factor: 1.5, jitter: 0}
      reset_after: 1h
      limit: {burst: 10000, interval: 10m}
)");
  const Program& p = only_program(result);
  CHECK(p.restart.policy == RestartPolicy::on_oom);
  CHECK(p.restart.backoff.initial == Duration{250});
  CHECK(p.restart.backoff.max == Duration{120000});
  CHECK(p.restart.backoff.factor == 1.5);
  CHECK(p.restart.backoff.jitter == 0.0);
  CHECK(p.restart.reset_after == Duration{3600000});
  CHECK(p.restart.limit.burst == 10000);
  CHECK(p.restart.limit.interval == Duration{600000});
  for (auto entry : {std::pair{"always", RestartPolicy::always},
                     {"on-failure", RestartPolicy::on_failure},
                     {"never", RestartPolicy::never}}) {
    auto r = program_with(std::string("    restart: {policy: ") + entry.first + "}\n");
    CHECK(only_program(r).restart.policy == entry.second);
  }
}

TEST_CASE("start and stop: every key") {
  auto result = program_with("    start: {settle: 0}\n    stop: {signal: sigquit, timeout: 30s}\n");
  const Program& p = only_program(result);
  CHECK(p.start_settle == Duration{0});
  CHECK(p.stop.signal == SIGQUIT);
  CHECK(p.stop.timeout == Duration{30000});
  CHECK(only_program(program_with("    stop: {signal: KILL}\n")).stop.signal == SIGKILL);
  CHECK(only_program(program_with("    stop: {signal: SIGINT}\n")).stop.signal == SIGINT);
}

TEST_CASE("stdout and stderr: every target, max_size and keep") {
  auto result = load(R"(programs:
  a:
    command: x
    stdout: {file: out.log, max_size: 1G, keep: 0}
    stderr: {file: stdout, max_size: max, keep: 100}
  b:
    command: x
    stdout: {file: inherit}
    stderr: {file: null}
  c:
    command: x
    stdout: {file: "null"}
    stderr:
      file:
  d:
    command: x
    stdout: {file: ./stdout}
    stderr: {file: auto, max_size: 4096}
)");
  const Config& config = accepted(result);
  const Program& a = *config.find("a");
  CHECK(a.stdout_output.target == OutputTarget::file);
  CHECK_FALSE(a.stdout_output.automatic);
  CHECK(a.stdout_output.path == "/etc/app/out.log");
  CHECK(a.stdout_output.max_size == 1ull << 30);
  CHECK(a.stdout_output.keep == 0);
  CHECK(a.stderr_output.target == OutputTarget::merge);
  CHECK(a.stderr_output.max_size == UINT64_MAX);  // max: never rotate
  CHECK(a.stderr_output.keep == 100);
  const Program& b = *config.find("b");
  CHECK(b.stdout_output.target == OutputTarget::inherit);
  CHECK(b.stderr_output.target == OutputTarget::discard);
  const Program& c = *config.find("c");
  CHECK(c.stdout_output.target == OutputTarget::discard);
  CHECK(c.stderr_output.target == OutputTarget::discard);
  const Program& d = *config.find("d");
  CHECK(d.stdout_output.path == "/etc/app/stdout");
  CHECK(d.stderr_output.automatic);
  CHECK(d.stderr_output.path == "/var/log/climits-manager/d.stderr.log");
  CHECK(d.stderr_output.max_size == 4096);
  CHECK(config.find("nope") == nullptr);
}

TEST_CASE("programs keep the order of the file") {
  auto result =
      load("programs:\n  zeta: {command: x}\n  alpha: {command: x}\n  mid: {command: x}\n");
  const Config& config = accepted(result);
  REQUIRE(config.programs.size() == 3);
  CHECK(config.programs[0].name == "zeta");
  CHECK(config.programs[1].name == "alpha");
  CHECK(config.programs[2].name == "mid");
}

// ---------------------------------------------------------------------------------------------
// Inheritance from defaults.

TEST_CASE("defaults are inherited and mappings merge key by key") {
  auto result = load(R"(
defaults:
  memory: {max: 100M, swappiness: 10}
  environment: {A: "1", B: "2"}
  restart: {policy: always, backoff: {max: 5s}}
  stdout: {max_size: 1M, keep: 2}
programs:
  a:
    command: a
    memory: {high: 80M}
    environment: {B: "3"}
    restart: {backoff: {initial: 100ms}}
    stdout: {file: inherit}
  b:
    command: b
    memory: {max: 1G}
)");
  const Config& config = accepted(result);
  const Program& a = config.programs[0];
  CHECK(a.memory.max == ByteLimit{100ull << 20});
  CHECK(a.memory.high == ByteLimit{80ull << 20});
  CHECK(a.memory.swappiness == 10);
  CHECK(a.environment == std::map<std::string, std::string>{{"A", "1"}, {"B", "3"}});
  CHECK(a.restart.policy == RestartPolicy::always);
  CHECK(a.restart.backoff.max == Duration{5000});
  CHECK(a.restart.backoff.initial == Duration{100});
  CHECK(a.stdout_output.target == OutputTarget::inherit);
  CHECK(a.stdout_output.max_size == 1ull << 20);  // kept from defaults
  CHECK(a.stdout_output.keep == 2);
  const Program& b = config.programs[1];
  CHECK(b.memory.max == ByteLimit{1ull << 30});
  CHECK(b.environment.at("B") == "2");
  CHECK(b.stdout_output.path == "/var/log/climits-manager/b.stdout.log");
}

TEST_CASE("a command in defaults serves every program that has none") {
  auto result = load(R"(defaults:
  command: ["./worker", "--queue", "q"]
  directory: work
programs:
  w1: {}
  w2: {command: other}
)");
  const Config& config = accepted(result);
  CHECK(config.programs[0].command == std::vector<std::string>{"/etc/app/worker", "--queue", "q"});
  CHECK(config.programs[0].directory == "/etc/app/work");
  CHECK(config.programs[1].command == std::vector<std::string>{"other"});
  // An automatic log file is named after each program, not after the defaults.
  CHECK(config.programs[1].stdout_output.path == "/var/log/climits-manager/w2.stdout.log");
}

// ---------------------------------------------------------------------------------------------
// Paths.

TEST_CASE("paths: relative ones resolve against the config file's folder") {
  auto result = load(R"(manager:
  log_dir: logs/../var/log
  control_socket: run/ctl.sock
programs:
  rel:
    command: ["bin/app", "relative/arg"]
    directory: srv
    stdout: {file: out/rel.log}
  dot:
    command: ./app
    directory: /abs/./dir/
  bare:
    command: sleep 10
  up:
    command: ../shared/tool
)");
  const Config& config = accepted(result);
  CHECK(config.manager.log_dir == "/etc/app/var/log");
  CHECK(config.manager.control_socket == "/etc/app/run/ctl.sock");
  const Program& rel = *config.find("rel");
  CHECK(rel.command ==
        std::vector<std::string>{"/etc/app/bin/app", "relative/arg"});  // args untouched
  CHECK(rel.directory == "/etc/app/srv");
  CHECK(rel.stdout_output.path == "/etc/app/out/rel.log");
  CHECK(rel.stderr_output.path == "/etc/app/var/log/rel.stderr.log");  // auto: under log_dir
  CHECK(config.find("dot")->command.front() == "/etc/app/app");
  CHECK(config.find("dot")->directory == "/abs/dir/");
  CHECK(config.find("bare")->command == std::vector<std::string>{"sleep", "10"});  // PATH at start
  CHECK(config.find("up")->command.front() == "/etc/shared/tool");
}

TEST_CASE("paths: load_config_file resolves against the file's own folder") {
  namespace fs = std::filesystem;
  fs::path folder =
      fs::temp_directory_path() / ("climits-loader-test-" + std::to_string(::getpid()));
  fs::create_directories(folder / "conf");
  {
    std::ofstream file(folder / "conf/programs.yaml");
    file << "manager: {log_dir: logs}\nprograms:\n  web: {command: ./web}\n";
  }
  auto result = load_config_file((folder / "conf/programs.yaml").string());
  const Config& config = accepted(result);
  CHECK(config.manager.log_dir == (folder / "conf/logs").string());
  CHECK(config.programs[0].command.front() == (folder / "conf/web").string());
  CHECK(config.programs[0].directory == (folder / "conf").string());

  auto missing = load_config_file((folder / "nope.yaml").string());
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].line == 0);
  CHECK(missing.errors[0].to_string() ==
        (folder / "nope.yaml").string() +
            ": cannot read the configuration: No such file or directory");
  fs::remove_all(folder);
}

TEST_CASE("program: depends_on, short and long forms") {
  auto result = load(R"(programs:
  db: {command: x}
  migrate: {command: x}
  cache: {command: x}
  web:
    command: x
    depends_on:
      db: ready
      migrate: {condition: succeeded, restart: false}
      cache: {condition: started, restart: true}
  worker:
    command: x
    depends_on: [db, cache]
)");
  const Config& config = accepted(result);
  const Program& web = *config.find("web");
  REQUIRE(web.depends_on.size() == 3);
  CHECK(web.depends_on[0] == Dependency{"db", DependencyCondition::ready, false});
  CHECK(web.depends_on[1] == Dependency{"migrate", DependencyCondition::succeeded, false});
  CHECK(web.depends_on[2] == Dependency{"cache", DependencyCondition::started, true});
  const Program& worker = *config.find("worker");
  CHECK(worker.depends_on ==
        std::vector<Dependency>{{"db", DependencyCondition::started, false},
                                {"cache", DependencyCondition::started, false}});
  CHECK(config.find("db")->depends_on.empty());
}
