#include <doctest/doctest.h>

#include <csignal>

#include "config/loader.h"

using namespace climits::config;

namespace {

LoadResult load(const std::string& text) { return load_config_text(text, "t.yaml", "/etc/app"); }

std::string errors_of(const LoadResult& result) {
  std::string all;
  for (const auto& e : result.errors) all += e.to_string() + "\n";
  return all;
}

const Program& only_program(const LoadResult& result) {
  REQUIRE_MESSAGE(result.config.has_value(), errors_of(result));
  REQUIRE(result.config->programs.size() == 1);
  return result.config->programs.front();
}

}  // namespace

TEST_CASE("a minimal program gets every default") {
  auto result = load("programs:\n  web:\n    command: [\"./web\", \"-v\"]\n");
  const Program& p = only_program(result);
  CHECK(p.name == "web");
  CHECK(p.command == std::vector<std::string>{"/etc/app/web", "-v"});
  CHECK(p.directory == "/etc/app");
  CHECK(p.autostart);
  CHECK(!p.memory.max.has_value());
  CHECK(!p.memory.swappiness.has_value());
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
  CHECK(p.stdout_output.path == "/var/log/climits-manager/web.stdout.log");
  CHECK(p.stderr_output.path == "/var/log/climits-manager/web.stderr.log");
  CHECK(p.stdout_output.max_size == 10ull << 20);
  CHECK(p.stdout_output.keep == 5);
  const auto& m = result.config->manager;
  CHECK(m.cgroup_root == "auto");
  CHECK(m.control_socket == "/run/climits-manager/control.sock");
  CHECK(!m.control_group.has_value());
  CHECK(m.log_level == LogLevel::info);
}

TEST_CASE("a plain-string command is split into words, with no shell") {
  auto result = load("programs:\n  w:\n    command: sleep  100 'x'\n");
  const Program& p = only_program(result);
  CHECK(p.command == std::vector<std::string>{"sleep", "100", "'x'"});
}

TEST_CASE("defaults are inherited and mappings merge key by key") {
  auto result = load(R"(
defaults:
  memory: {max: 100M, swappiness: 10}
  environment: {A: "1", B: "2"}
  restart: {policy: always, backoff: {max: 5s}}
programs:
  a:
    command: a
    memory: {high: 80M}
    environment: {B: "3"}
    restart: {backoff: {initial: 100ms}}
  b:
    command: b
    memory: {max: 1G}
)");
  REQUIRE_MESSAGE(result.config, errors_of(result));
  const Program& a = result.config->programs[0];
  CHECK(a.memory.max == ByteLimit{100ull << 20});
  CHECK(a.memory.high == ByteLimit{80ull << 20});
  CHECK(a.memory.swappiness == 10);
  CHECK(a.environment == std::map<std::string, std::string>{{"A", "1"}, {"B", "3"}});
  CHECK(a.restart.policy == RestartPolicy::always);
  CHECK(a.restart.backoff.max == Duration{5000});
  CHECK(a.restart.backoff.initial == Duration{100});
  const Program& b = result.config->programs[1];
  CHECK(b.memory.max == ByteLimit{1ull << 30});
  CHECK(b.environment.at("B") == "2");
}

TEST_CASE("all errors of a file are reported at once, in file order") {
  auto result = load(R"(programs:
  web:
    command: x
    memory: {max: 60Q}
    autostart: maybe
  "a/b":
    command: x
)");
  CHECK(!result.config);
  CHECK(errors_of(result) ==
        "t.yaml:4:19: programs.web.memory.max: \"60Q\" is not a size (use e.g. 512M)\n"
        "t.yaml:5:16: programs.web.autostart: \"maybe\" is not a boolean (use true or false, "
        "without quotes)\n"
        "t.yaml:6:3: programs.a/b: \"a/b\" is not a valid program name (use 1 to 64 of the "
        "characters A-Z a-z 0-9 _ . -, and not \".\" or \"..\")\n");
}
