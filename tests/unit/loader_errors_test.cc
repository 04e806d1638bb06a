// Configuration errors: each located at file:line:col, all of a file at once.
#include <doctest/doctest.h>

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
// Errors: every kind at least once.

TEST_CASE("all errors of a file are reported at once, in file order") {
  CHECK(refused(R"(programs:
  web:
    command: x
    memory: {max: 60Q}
    autostart: maybe
  "a/b":
    command: x
)") == "t.yaml:4:19: programs.web.memory.max: \"60Q\" is not a size (use e.g. 512M)\n"
       "t.yaml:5:16: programs.web.autostart: \"maybe\" is not a boolean (use true or false, "
       "without quotes)\n"
       "t.yaml:6:3: programs: \"a/b\" is not a valid program name (use 1 to 64 of the "
       "characters A-Z a-z 0-9 _ . -, and not \".\" or \"..\")\n");
}

TEST_CASE("errors: the file as a whole") {
  CHECK(refused("") ==
        "t.yaml:1:1: (top level): the file is empty (start with \"version: 1\" "
        "and a \"programs:\" mapping)\n");
  CHECK(refused("# nothing\n") == refused(""));
  CHECK(refused("- a\n") ==
        "t.yaml:1:1: (top level): expected a mapping with version, "
        "manager, defaults and programs, found a list\n");
  CHECK(refused("version: 1\n") ==
        "t.yaml:1:1: (top level): missing required key "
        "\"programs\" (a mapping of program names to settings)\n");
  CHECK(refused("programs: {}\n---\nprograms: {}\n") ==
        "t.yaml:3:1: (top level): the file holds more than one YAML document (remove the "
        "second \"---\" and what follows)\n");
  CHECK(refused("programs: [a\n") ==
        "t.yaml:1:11: (yaml syntax): \"[\" opened here is never closed (add the closing \"]\"; "
        "the parser gave up at 2:1: end of sequence flow not found)\n");
  CHECK(refused("programs:\n  web:\n    command: \"./web\n  b: {command: x}\n") ==
        "t.yaml:3:14: (yaml syntax): this quoted string is never closed (add the closing \")\n");
  CHECK(refused("programs:\n  web:\n    command: 'it''s\n") ==
        "t.yaml:3:14: (yaml syntax): this quoted string is never closed (add the closing ')\n");
  CHECK(accepted(load("programs:\n  web: {command: [x, 'it''s', \"a\\\"b\"]}\n"))
            .programs[0]
            .command == std::vector<std::string>{"x", "it's", "a\"b"});
  CHECK(refused("programs:\n  web:\n\tcommand: x\n") ==
        "t.yaml:3:2: (yaml syntax): end of map not found (indent with spaces: YAML does not "
        "allow tabs)\n");
  CHECK(refused(std::string(10000, '[')) ==
        "t.yaml:1:1: (yaml syntax): nesting is too deep (check indentation, brackets and "
        "quotes)\n");
  CHECK(refused(std::string("programs: {}\n\x00", 14)) ==
        "t.yaml:2:1: (top level): control character 0x00 is not allowed in YAML (is this the "
        "right file?)\n");
  CHECK(refused("programs: {a: {command: \"caf\xe9\"}}\n") ==
        "t.yaml:1:29: (top level): byte 0xe9 is not UTF-8 text (save the file as UTF-8; is "
        "this the right file?)\n");
  std::string huge = "programs: {}\n" + std::string(kMaxConfigBytes, '#');
  CHECK(refused(huge) ==
        "t.yaml: the file is larger than 16 MiB; a configuration is normally "
        "a few KiB (is this the right file?)\n");
}

TEST_CASE("errors: UTF-8 is accepted, and shown as written") {
  auto result = load("programs:\n  web:\n    command: [\"./web\", \"café ☕\"]\n");
  CHECK(only_program(result).command[1] == "café ☕");
  CHECK(refused("programs:\n  café: {command: x}\n") ==
        "t.yaml:2:3: programs: \"café\" is not a valid program name (use 1 to 64 of the "
        "characters A-Z a-z 0-9 _ . -, and not \".\" or \"..\")\n");
}

TEST_CASE("errors: version") {
  CHECK(refused("version: 2\nprograms: {}\n") ==
        "t.yaml:1:10: version: version 2 is not supported (use version: 1)\n");
  CHECK(refused("version: \"x\"\nprograms: {}\n") ==
        "t.yaml:1:10: version: \"x\" is not a version number (use version: 1, without quotes)\n");
  CHECK(refused("version: \"1\"\nprograms: {}\n") ==
        "t.yaml:1:10: version: \"1\" is not a version number (use version: 1, without quotes)\n");
  CHECK(refused("version:\nprograms: {}\n") ==
        "t.yaml:1:1: version: has no value (use version: 1, or leave the key out)\n");
  CHECK(refused("version: [1]\nprograms: {}\n") ==
        "t.yaml:1:10: version: expected 1, found a list (use version: 1)\n");
}

TEST_CASE("errors: unknown and duplicate keys, at every level") {
  CHECK(refused("programz: {}\n") ==
        "t.yaml:1:1: programz: unknown key (did you mean \"programs\"?)\n"
        "t.yaml:1:1: (top level): missing required key \"programs\" (a mapping of program "
        "names to settings)\n");
  CHECK(refused("manager: {colour: red}\nprograms: {}\n") ==
        "t.yaml:1:11: manager.colour: unknown key (expected one of: cgroup_root, "
        "control_socket, control_group, log_level, log_dir)\n");
  CHECK(refused("programs:\n  p: {command: x, stop: {sginal: TERM}}\n") ==
        "t.yaml:2:26: programs.p.stop.sginal: unknown key (did you mean \"signal\"?)\n");
  CHECK(refused("programs:\n  p: {command: x, restart: {limit: {brust: 1}}}\n") ==
        "t.yaml:2:37: programs.p.restart.limit.brust: unknown key (did you mean \"burst\"?)\n");
  CHECK(refused("programs:\n  p:\n    command: x\n    restart:\n      <<: {policy: never}\n") ==
        "t.yaml:5:7: programs.p.restart.<<: YAML merge keys (<<) are not supported; put shared "
        "settings in the defaults: section\n");
  CHECK(refused("programs:\n  p: {command: x, memory: {max: 1G, max: 2G}}\n") ==
        "t.yaml:2:37: programs.p.memory.max: duplicate key (first given at line 2)\n");
  CHECK(refused("programs:\n  p: {command: x}\n  q: {command: x}\n  p: {command: y}\n") ==
        "t.yaml:4:3: programs.p: duplicate program \"p\" (first given at line 2)\n");
  CHECK(
      refused("programs:\n  p: {command: x, environment: {A: a, A: b}}\n") ==
      "t.yaml:2:39: programs.p.environment.A: duplicate variable \"A\" (first given at line 2)\n");
  CHECK(refused("programs:\n  p: {command: x, ? [a]: b}\n") ==
        "t.yaml:2:21: programs.p: keys must be plain names, found a list\n");
}

TEST_CASE("errors: program names") {
  for (const char* name : {"\".\"", "\"..\"", "a/b", "\"with space\"", "\"\""}) {
    std::string errors = refused(std::string("programs:\n  ") + name + ": {command: x}\n");
    CHECK_MESSAGE(errors.find("t.yaml:2:3: programs: ") == 0, errors);
    CHECK_MESSAGE(errors.find("is not a valid program name") != std::string::npos, errors);
  }
  std::string too_long(65, 'n');
  CHECK(refused("programs:\n  " + too_long + ": {command: x}\n")
            .find("...\" (65 characters) is not a valid program name") != std::string::npos);
  CHECK(accepted(load("programs:\n  " + too_long.substr(1) + ": {command: x}\n")).programs.size() ==
        1);
  CHECK(refused("programs:\n  p:\n") ==
        "t.yaml:2:3: programs.p: expected a mapping with keys such as command, directory, "
        "environment, user, group, umask, autostart, memory, pids_max, cpu, io, restart, start, "
        "stop, stdout, stderr, depends_on, found nothing\n");
  CHECK(refused("programs: [a]\n") ==
        "t.yaml:1:11: programs: expected a mapping of programs, found a list\n");
}

TEST_CASE("errors: sizes") {
  CHECK(refused("programs:\n  p: {command: x, memory: {max: 60}}\n") ==
        "t.yaml:2:33: programs.p.memory.max: 60 bytes is too small (sizes without a unit are "
        "bytes: did you mean 60M?)\n");
  CHECK(
      refused("programs:\n  p: {command: x, memory: {high: 0}}\n") ==
      "t.yaml:2:34: programs.p.memory.high: \"0\" is zero (use e.g. 512M, or max for no limit)\n");
  CHECK(refused("programs:\n  p: {command: x, stdout: {max_size: 0M}}\n") ==
        "t.yaml:2:38: programs.p.stdout.max_size: \"0M\" is zero (use e.g. 512M, or max for no "
        "limit)\n");
  CHECK(refused("programs:\n  p: {command: x, memory: {swap_max: -1}}\n") ==
        "t.yaml:2:38: programs.p.memory.swap_max: \"-1\" is not a size (use e.g. 512M)\n");
  CHECK(refused("programs:\n  p: {command: x, memory: {max: 8388608T}}\n") ==
        "t.yaml:2:33: programs.p.memory.max: \"8388608T\" is too large (at most 8388607T, or max "
        "for no limit)\n");
  CHECK(
      refused("programs:\n  p: {command: x, memory: {max: 60Q}}\n").find("\"60Q\" is not a size") !=
      std::string::npos);
  // swap_max may be zero and unit-less.
  CHECK(only_program(program_with("    memory: {swap_max: 60}\n")).memory.swap_max ==
        ByteLimit{60});
}

TEST_CASE("errors: durations") {
  CHECK(refused("programs:\n  p: {command: x, stop: {timeout: 10}}\n") ==
        "t.yaml:2:35: programs.p.stop.timeout: \"10\" has no unit (use e.g. 10s; the units are "
        "ms, s, m and h)\n");
  CHECK(refused("programs:\n  p: {command: x, stop: {timeout: -1s}}\n") ==
        "t.yaml:2:35: programs.p.stop.timeout: \"-1s\" is not a duration (use e.g. 500ms, 10s, "
        "5m or 1h)\n");
  CHECK(refused("programs:\n  p: {command: x, stop: {timeout: 8761h}}\n") ==
        "t.yaml:2:35: programs.p.stop.timeout: \"8761h\" is longer than a year (use at most "
        "8760h)\n");
  CHECK(refused("programs:\n  p: {command: x, restart: {limit: {interval: 0s}}}\n") ==
        "t.yaml:2:47: programs.p.restart.limit.interval: must be more than zero (use e.g. 120s)\n");
}

TEST_CASE("errors: signals") {
  CHECK(refused("programs:\n  p: {command: x, stop: {signal: STOP}}\n") ==
        "t.yaml:2:34: programs.p.stop.signal: \"STOP\" is not a signal that can stop a program "
        "(use e.g. TERM, INT, QUIT, HUP, USR1 or KILL)\n");
  for (const char* bad : {"CONT", "SIGTSTP", "FOO", "15"})
    CHECK(refused(std::string("programs:\n  p: {command: x, stop: {signal: ") + bad + "}}\n")
              .find("is not a signal that can stop a program") != std::string::npos);
}

TEST_CASE("errors: numbers out of range, and quoted numbers and booleans") {
  CHECK(refused("programs:\n  p: {command: x, memory: {swappiness: 101}}\n") ==
        "t.yaml:2:40: programs.p.memory.swappiness: 101 is out of range (use a whole number "
        "from 0 to 100)\n");
  CHECK(refused("programs:\n  p: {command: x, memory: {swappiness: 99999999999999999999999}}\n") ==
        "t.yaml:2:40: programs.p.memory.swappiness: 99999999999999999999999 is out of range "
        "(use a whole number from 0 to 100)\n");
  CHECK(refused("programs:\n  p: {command: x, restart: {backoff: {jitter: 1.5}}}\n") ==
        "t.yaml:2:47: programs.p.restart.backoff.jitter: 1.5 is out of range (use a number "
        "from 0 to 1)\n");
  CHECK(refused("programs:\n  p: {command: x, restart: {backoff: {factor: 0.5}}}\n")
            .find("0.5 is out of range (use a number from 1 to 100)") != std::string::npos);
  CHECK(refused("programs:\n  p: {command: x, restart: {limit: {burst: 0}}}\n")
            .find("0 is out of range (use a whole number from 1 to 10000)") != std::string::npos);
  CHECK(refused("programs:\n  p: {command: x, stdout: {keep: -1}}\n")
            .find("-1 is out of range (use a whole number from 0 to 100)") != std::string::npos);
  CHECK(refused("programs:\n  p: {command: x, pids_max: 0}\n") ==
        "t.yaml:2:29: programs.p.pids_max: 0 is out of range (use a whole number from 1 to "
        "4194304, or max)\n");
  CHECK(refused("programs:\n  p: {command: x, pids_max: 9999999}\n")
            .find("9999999 is out of range") != std::string::npos);
  CHECK(refused("programs:\n  p: {command: x, pids_max: \"\"}\n") ==
        "t.yaml:2:29: programs.p.pids_max: \"\" is not a task count (use a whole number from 1 "
        "to 4194304, or max, without quotes)\n");
  CHECK(refused("programs:\n  p: {command: x, pids_max: \"256\"}\n")
            .find("\"256\" is not a task count") != std::string::npos);
  CHECK(refused("programs:\n  p: {command: x, memory: {swappiness: \"5\"}}\n") ==
        "t.yaml:2:40: programs.p.memory.swappiness: \"5\" is not a whole number (use a whole "
        "number from 0 to 100, without quotes)\n");
  CHECK(refused("programs:\n  p: {command: x, restart: {backoff: {factor: \"2\"}}}\n")
            .find("\"2\" is not a number (use a number from 1 to 100, without quotes)") !=
        std::string::npos);
  CHECK(refused("programs:\n  p: {command: x, autostart: \"yes\"}\n") ==
        "t.yaml:2:30: programs.p.autostart: \"yes\" is not a boolean (use true or false, "
        "without quotes)\n");
}

TEST_CASE("errors: oom_policy, and an oom_group that contradicts it") {
  CHECK(refused("programs:\n  p: {command: x, memory: {oom_policy: restart}}\n") ==
        "t.yaml:2:40: programs.p.memory.oom_policy: \"restart\" is not an OOM policy (use "
        "continue, stop or kill)\n");
  CHECK(refused("programs:\n  p: {command: x, memory: {oom_policy: stop, oom_group: true}}\n") ==
        "t.yaml:2:57: programs.p.memory.oom_group: true means oom_policy: kill, but oom_policy "
        "is stop (keep one of the two)\n");
}

TEST_CASE("errors: wrong shapes and missing values") {
  CHECK(refused("programs:\n  p: {command: x, memory: [60M]}\n") ==
        "t.yaml:2:27: programs.p.memory: expected a mapping with keys such as max, high, "
        "swap_max, swappiness, oom_policy, oom_group, pressure, found a list\n");
  CHECK(refused("programs:\n  p: {command: x, directory: {a: b}}\n") ==
        "t.yaml:2:30: programs.p.directory: expected a string such as /opt/app, found a mapping\n");
  CHECK(refused("programs:\n  p: {command: x, autostart: [true]}\n") ==
        "t.yaml:2:30: programs.p.autostart: expected true or false, found a list\n");
  CHECK(refused("programs:\n  p:\n    command: x\n    memory:\n      max:\n") ==
        "t.yaml:5:7: programs.p.memory.max: has no value (expected a size such as 512M, or max)\n");
  CHECK(refused("programs:\n  p:\n    command: x\n    restart:\n") ==
        "t.yaml:4:5: programs.p.restart: expected a mapping with keys such as policy, backoff, "
        "reset_after, limit, found nothing\n");
  CHECK(refused("programs:\n  p: {command: x, restart: {policy: sometimes}}\n") ==
        "t.yaml:2:37: programs.p.restart.policy: \"sometimes\" is not a restart policy (use "
        "always, on-failure, on-oom or never)\n");
  CHECK(refused("manager: {log_level: verbose}\nprograms: {}\n") ==
        "t.yaml:1:22: manager.log_level: \"verbose\" is not a log level (use trace, debug, info, "
        "warn or error)\n");
}

TEST_CASE("errors: command") {
  CHECK(refused("programs:\n  p: {command: \"\"}\n") ==
        "t.yaml:2:16: programs.p.command: is empty (use e.g. [\"./app\", \"--verbose\"])\n");
  CHECK(refused("programs:\n  p: {command: \"  \"}\n") ==
        refused("programs:\n  p: {command: \"\"}\n"));
  CHECK(refused("programs:\n  p: {command: []}\n") ==
        "t.yaml:2:16: programs.p.command: is empty (use e.g. [\"./app\", \"--verbose\"])\n");
  CHECK(refused("programs:\n  p: {command: [\"\", x]}\n") ==
        "t.yaml:2:17: programs.p.command[0]: is empty (the program to run; use e.g. "
        "[\"./app\", \"--verbose\"])\n");
  CHECK(refused("programs:\n  p: {command: {a: b}}\n") ==
        "t.yaml:2:16: programs.p.command: expected a list of strings such as [\"./app\", "
        "\"--verbose\"], found a mapping\n");
  CHECK(refused("programs:\n  p: {command: [x, [y]]}\n") ==
        "t.yaml:2:20: programs.p.command[1]: expected a string, found a list\n");
  CHECK(refused("programs:\n  p: {command: \"a\\0b\"}\n") ==
        "t.yaml:2:16: programs.p.command: contains a NUL byte\n");
  CHECK(refused("programs:\n  p: {directory: /x}\n") ==
        "t.yaml:2:3: programs.p: missing required key \"command\" (e.g. command: [\"./app\", "
        "\"--verbose\"])\n");
  CHECK(refused("defaults: {memory: {max: 1G}}\nprograms:\n  p: {}\n") ==
        "t.yaml:3:3: programs.p: missing required key \"command\" (e.g. command: [\"./app\", "
        "\"--verbose\"])\n");
}

TEST_CASE("errors: environment, user, group, umask") {
  CHECK(refused("programs:\n  p: {command: x, environment: {1A: x}}\n") ==
        "t.yaml:2:33: programs.p.environment: \"1A\" is not a valid variable name (use letters, "
        "digits and _, not starting with a digit)\n");
  CHECK(refused("programs:\n  p: {command: x, environment: {A: [x]}}\n") ==
        "t.yaml:2:36: programs.p.environment.A: expected a string value such as \"50\", found a "
        "list\n");
  CHECK(refused("programs:\n  p: {command: x, environment: [A=1]}\n") ==
        "t.yaml:2:32: programs.p.environment: expected a mapping of variables, found a list\n");
  CHECK(refused("programs:\n  p: {command: x, user: \"Web User\"}\n") ==
        "t.yaml:2:25: programs.p.user: \"Web User\" is not a valid user name or id (use e.g. "
        "nobody or 65534)\n");
  CHECK(refused("programs:\n  p: {command: x, group: \"-g\"}\n") ==
        "t.yaml:2:26: programs.p.group: \"-g\" is not a valid group name or id (use e.g. "
        "nogroup or 65534)\n");
  CHECK(refused("programs:\n  p: {command: x, umask: \"0888\"}\n") ==
        "t.yaml:2:26: programs.p.umask: \"0888\" is not a umask (use three octal digits such as "
        "022 or 077)\n");
  CHECK(refused("programs:\n  p: {command: x, umask: 1777}\n").find("\"1777\" is not a umask") !=
        std::string::npos);
}

TEST_CASE("errors: a user or group that does not exist, at the key that names it") {
  CHECK(refused("programs:\n  p: {command: x, user: climits-no-such-user}\n") ==
        "t.yaml:2:25: programs.p.user: user \"climits-no-such-user\" does not exist (create it "
        "with `useradd --system climits-no-such-user`, or name an existing user)\n");
  CHECK(refused("programs:\n  p: {command: x, user: nobody, group: climits-no-such-group}\n") ==
        "t.yaml:2:40: programs.p.group: group \"climits-no-such-group\" does not exist (create it "
        "with `groupadd --system climits-no-such-group`, or name an existing group)\n");
  // Inherited from defaults: said once, where defaults: names it, not once per program.
  CHECK(refused("defaults: {user: climits-no-such-user}\nprograms:\n  a: {command: x}\n"
                "  b: {command: x, group: nogroup}\n") ==
        "t.yaml:1:18: defaults.user: user \"climits-no-such-user\" does not exist (create it "
        "with `useradd --system climits-no-such-user`, or name an existing user)\n");
  // A program's own user replaces the defaults' one, which is still reported where it is.
  CHECK(refused("defaults: {group: climits-no-such-group}\nprograms:\n"
                "  a: {command: x, user: climits-no-such-user}\n")
            .find("t.yaml:3:25: programs.a.user: user \"climits-no-such-user\" does not exist") !=
        std::string::npos);
  // Numeric ids need no entry (a container's uid, a user made by the program's package later).
  CHECK(accepted(load("programs:\n  p: {command: x, user: 2999999999, group: 2999999999}\n"))
            .programs.size() == 1);
}

TEST_CASE("errors: manager settings") {
  CHECK(refused("manager: {cgroup_root: cg}\nprograms: {}\n") ==
        "t.yaml:1:24: manager.cgroup_root: \"cg\" is not auto or an absolute path without \"..\" "
        "(use e.g. auto or /sys/fs/cgroup/climits)\n");
  CHECK(refused("manager: {cgroup_root: /sys/fs/cgroup/..}\nprograms: {}\n")
            .find("is not auto or an absolute path") != std::string::npos);
  CHECK(refused("manager: {cgroup_root: /a/../b}\nprograms: {}\n")
            .find("is not auto or an absolute path") != std::string::npos);
  std::string socket = "/run/" + std::string(100, 's') + ".sock";  // 110 bytes
  CHECK(refused("manager: {control_socket: " + socket + "}\nprograms: {}\n") ==
        "t.yaml:1:27: manager.control_socket: the socket path is 110 bytes long, more than a "
        "Unix socket allows (use at most 107, e.g. /run/climits-manager/control.sock)\n");
  CHECK(refused("manager: {control_group: climits-no-such-group}\nprograms: {}\n") ==
        "t.yaml:1:26: manager.control_group: group \"climits-no-such-group\" does not exist "
        "(create it with `groupadd --system climits-no-such-group`, or remove control_group to "
        "allow root only)\n");
  CHECK(refused("manager: {control_group: \"Bad Group\"}\nprograms: {}\n") ==
        "t.yaml:1:26: manager.control_group: \"Bad Group\" is not a valid group name (use e.g. "
        "climits)\n");
  CHECK(refused("manager: {log_dir: \"\"}\nprograms: {}\n") ==
        "t.yaml:1:20: manager.log_dir: is empty (use e.g. /var/log/climits-manager)\n");
}

TEST_CASE("errors: output targets") {
  CHECK(refused("programs:\n  p: {command: x, stdout: {file: stdout}}\n") ==
        "t.yaml:2:34: programs.p.stdout.file: \"stdout\" cannot be the target of stdout (use "
        "auto, inherit, null or a path; write ./stdout for a file of that name)\n");
  CHECK(refused("programs:\n  p: {command: x, stderr: {file: stderr}}\n") ==
        "t.yaml:2:34: programs.p.stderr.file: \"stderr\" cannot be the target of stderr (use "
        "auto, stdout, inherit, null or a path; write ./stderr for a file of that name)\n");
  CHECK(refused("programs:\n  p: {command: x, stdout: {file: logs/}}\n") ==
        "t.yaml:2:34: programs.p.stdout.file: \"logs/\" names a folder (use auto, inherit, null "
        "or a path)\n");
}

TEST_CASE("errors: rules across keys") {
  // backoff: pointed at the key that was given; defaults are checked once, not per program.
  CHECK(refused("programs:\n  p: {command: x, restart: {backoff: {initial: 5s, max: 1s}}}\n") ==
        "t.yaml:2:57: programs.p.restart.backoff.max: max (1s) is below initial (5s); make max "
        "at least initial\n");
  CHECK(refused("programs:\n  p: {command: x, restart: {backoff: {initial: 2m}}}\n") ==
        "t.yaml:2:48: programs.p.restart.backoff.initial: max (1m) is below initial (2m); make "
        "max at least initial\n");
  CHECK(refused("defaults: {restart: {backoff: {max: 100ms}}}\n"
                "programs:\n  a: {command: x}\n  b: {command: x}\n") ==
        "t.yaml:1:37: defaults.restart.backoff.max: max (100ms) is below initial (1s); make max "
        "at least initial\n");
  // Two streams, one file.
  CHECK(refused("programs:\n  a: {command: x, stdout: {file: /l/x.log}}\n"
                "  b: {command: x, stderr: {file: /l/x.log}}\n") ==
        "t.yaml:3:34: programs.b.stderr.file: \"/l/x.log\" is also written by programs.a.stdout "
        "(give each stream its own file, or use stderr: {file: stdout})\n");
  CHECK(refused("defaults: {stdout: {file: /l/all.log}}\n"
                "programs:\n  a: {command: x}\n  b: {command: x}\n") ==
        "t.yaml:4:3: programs.b.stdout.file: \"/l/all.log\" (from defaults.stdout.file) is also "
        "written by programs.a.stdout (give each program its own file, e.g. file: auto)\n");
  CHECK(refused(
            "programs:\n  a: {command: x, stdout: {file: /var/log/climits-manager/b.stdout.log}}\n"
            "  b: {command: x}\n") ==
        "t.yaml:3:3: programs.b.stdout.file: \"/var/log/climits-manager/b.stdout.log\" (its "
        "automatic log file) is also written by programs.a.stdout (give each program its own "
        "file, e.g. file: auto)\n");
}

TEST_CASE("errors: an unclosed flow bracket is shown where it was opened") {
  // Far from where the parser gives up.
  CHECK(refused("programs:\n  web:\n    command: [\"./web\", \"--port\", 8080\n"
                "    memory: {max: 60M}\n") ==
        "t.yaml:3:14: (yaml syntax): \"[\" opened here is never closed (add the closing \"]\"; "
        "the parser gave up at 4:11: end of sequence flow not found)\n");
  CHECK(refused("programs: {\n  web: {command: [x]}\n\n\n") ==
        "t.yaml:1:11: (yaml syntax): \"{\" opened here is never closed (add the closing \"}\"; "
        "the parser gave up at 5:1: end of map flow not found)\n");
  // The innermost one of the kind the parser names; closed ones before it do not count.
  CHECK(refused("programs: {web: [a, {b: c}\n") ==
        "t.yaml:1:17: (yaml syntax): \"[\" opened here is never closed (add the closing \"]\"; "
        "the parser gave up at 2:1: end of sequence flow not found)\n");
  CHECK(refused("programs:\n  web: {command: [x], environment: {A: [b]}\n") ==
        "t.yaml:2:8: (yaml syntax): \"{\" opened here is never closed (add the closing \"}\"; "
        "the parser gave up at 3:1: end of map flow not found)\n");
  // An anchor or a tag before the bracket, and a single-pair mapping inside the brackets.
  CHECK(refused("programs:\n  web:\n    command: &c [x, y\n") ==
        "t.yaml:3:17: (yaml syntax): \"[\" opened here is never closed (add the closing \"]\"; "
        "the parser gave up at 4:1: end of sequence flow not found)\n");
  CHECK(refused("programs:\n  web:\n    command: !!seq [a: b, c\n") ==
        "t.yaml:3:20: (yaml syntax): \"[\" opened here is never closed (add the closing \"]\"; "
        "the parser gave up at 4:1: end of sequence flow not found)\n");
}

TEST_CASE("errors: a bracket in a quoted string or a comment is not the unclosed one") {
  CHECK(refused("programs:\n  web:\n    # not this [ nor this {\n"
                "    command: [\"[x\", '{y', \"a]\", 'b}', \"\\\"[\", 'it''s [', c\n") ==
        "t.yaml:4:14: (yaml syntax): \"[\" opened here is never closed (add the closing \"]\"; "
        "the parser gave up at 5:1: end of sequence flow not found)\n");
  CHECK(refused("programs: {web: {command: [x]}, # a { here\n  other: {command: \"{\"}\n") ==
        "t.yaml:1:11: (yaml syntax): \"{\" opened here is never closed (add the closing \"}\"; "
        "the parser gave up at 3:1: end of map flow not found)\n");
  // A plain scalar in block context may hold brackets; only the flow sequence is open.
  CHECK(refused("programs:\n  web:\n    directory: /srv/[a{b\n    command: [x\n") ==
        "t.yaml:4:14: (yaml syntax): \"[\" opened here is never closed (add the closing \"]\"; "
        "the parser gave up at 5:1: end of sequence flow not found)\n");
  // With a byte order mark, positions are counted without it.
  CHECK(refused("\xef\xbb\xbfprograms: {a: [x]\n") ==
        "t.yaml:1:11: (yaml syntax): \"{\" opened here is never closed (add the closing \"}\"; "
        "the parser gave up at 2:1: end of map flow not found)\n");
}

TEST_CASE("errors: depends_on names, conditions, itself and cycles") {
  CHECK(refused(R"(programs:
  a:
    command: x
    depends_on: {b: ready, a: started, zz: succeeded}
  b:
    command: x
    depends_on: [c, c]
  c:
    command: x
    depends_on:
      a: {condition: ready, restart: true}
      b: {restart: true}
      d: {condition: sometimes}
  d:
    command: x
    depends_on: 5
)") == "t.yaml:4:28: programs.a.depends_on.a: a program cannot depend on itself\n"
       "t.yaml:4:40: programs.a.depends_on.zz: unknown program \"zz\" (the programs are a, b, "
       "c, d)\n"
       "t.yaml:7:21: programs.b.depends_on[1]: \"c\" is listed twice\n"
       "t.yaml:11:7: programs.c.depends_on.a: closes a dependency cycle: a -> b -> c -> a (none "
       "of them could ever start)\n"
       "t.yaml:12:10: programs.c.depends_on.b: missing required key \"condition\" (started, "
       "ready or succeeded)\n"
       "t.yaml:13:22: programs.c.depends_on.d.condition: \"sometimes\" is not a dependency "
       "condition (use started, ready or succeeded)\n"
       "t.yaml:16:17: programs.d.depends_on: expected a mapping of dependencies, found \"5\"\n");
  CHECK(refused("defaults:\n  depends_on: [a]\nprograms:\n  a: {command: x}\n") ==
        "t.yaml:2:15: defaults.depends_on: cannot be set in defaults: (each program names what "
        "it depends on)\n");
  // A long chain is walked without recursion, and its cycle named whole.
  std::string chain = "programs:\n";
  for (int i = 0; i < 3000; ++i)
    chain += "  p" + std::to_string(i) + ": {command: x, depends_on: [p" +
             std::to_string((i + 1) % 3000) + "]}\n";
  std::string error = refused(chain);
  CHECK(error.find("closes a dependency cycle: p0 -> p1 -> p2 -> ") != std::string::npos);
  CHECK(error.find(" -> p2999 -> p0 (none of them") != std::string::npos);
}
