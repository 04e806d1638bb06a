"""Every command end to end through climits-ctl (and the raw protocol): status as a table and
as JSON with the field names and types of docs/control-protocol.md; start, stop and restart
by name and `all`, waiting for the state and reporting failures with the last exit; unknown
names refused with nothing done; reload with its summary or every configuration error; version; and a socket
nobody listens on."""

import datetime
import json
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

STATES = {"stopped", "starting", "running", "backoff", "stopping", "exited", "fatal"}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def programs(marker, ready):
    return {
        "web": {"command": ["sleep", marker], "memory": {"max": "64M"},
                "start": {"settle": "200ms"}, "stop": {"timeout": "5s"}},
        "worker": {"command": ["sleep", marker], "start": {"settle": "200ms"}},
        "failing": {"command": ["sh", "-c", "exit 3"], "autostart": False,
                    "start": {"settle": "1s"},
                    "restart": {"policy": "on-failure",
                                "backoff": {"initial": "100ms", "max": "100ms", "jitter": 0},
                                "limit": {"burst": 1, "interval": "60s"}}},
        # Ignores SIGTERM (and says so in `ready`): a stop has to wait for stop.timeout and the
        # cgroup kill.
        "stubborn": {"command": ["sh", "-c", "trap '' TERM; : > %s; while :; do sleep 1; done"
                                 % ready],
                     "start": {"settle": "200ms"}, "stop": {"timeout": "700ms"}},
    }


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class CommandsTest(harness.ControlTest):

    def start_manager(self):
        self.marker = "7%d%03d" % (os.getpid(), int(time.monotonic() * 1000) % 1000)
        self.ready = os.path.join(self.dir, "stubborn.ready")
        self.config = self.write_config(programs(self.marker, self.ready))
        daemon = self.daemon(self.config)
        for name in ("web", "worker", "stubborn"):
            daemon.wait_for(r"%s: starting -> running " % name)
        return daemon

    def assert_program_json(self, program):
        expected = ["name", "state", "pid", "uptime_seconds", "memory_bytes", "memory_peak_bytes",
                    "memory_max_bytes", "restarts", "oom_kills", "last_exit", "cgroup",
                    "limits_pending", "last_oom_at", "waiting_for"]
        for key in expected:
            self.assertIn(key, program)
        self.assertIsInstance(program["name"], str)
        self.assertIn(program["state"], STATES)
        self.assertTrue(program["pid"] is None or is_int(program["pid"]), program)
        self.assertTrue(is_number(program["uptime_seconds"]), program)
        self.assertTrue(is_int(program["memory_bytes"]) and program["memory_bytes"] >= 0, program)
        self.assertTrue(is_int(program["memory_peak_bytes"]), program)  # v1 keeps a peak
        self.assertTrue(program["memory_max_bytes"] is None or is_int(program["memory_max_bytes"]))
        self.assertTrue(is_int(program["restarts"]), program)
        self.assertTrue(is_int(program["oom_kills"]), program)
        self.assertEqual(program["cgroup"], self.cgroups.program(program["name"]))
        self.assertTrue(program["last_oom_at"] is None or
                        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                                     program["last_oom_at"]), program)
        last_exit = program["last_exit"]
        if last_exit is not None:
            self.assertIn(last_exit["kind"], {"exited", "signal", "oom-killed", "spawn-error"})
            self.assertTrue(last_exit["code"] is None or is_int(last_exit["code"]), last_exit)
            self.assertTrue(last_exit["signal"] is None or
                            re.match(r"^SIG[A-Z0-9]+$", last_exit["signal"]), last_exit)
            self.assertRegex(last_exit["at"], ISO_UTC)

    def test_status_table_and_json(self):
        self.start_manager()
        result = self.assert_ctl_ok(self.ctl("status"))
        lines = result.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "STATE", "PID", "UPTIME", "MEM", "PEAK",
                                            "LIMIT", "RESTARTS", "OOM", "LAST-EXIT"])
        rows = {line.split()[0]: line.split() for line in lines[1:]}
        self.assertEqual(set(rows), {"web", "worker", "failing", "stubborn"})
        self.assertEqual(rows["web"][1], "running")
        self.assertEqual(rows["web"][6], "64M")
        self.assertEqual(rows["worker"][6], "-")  # no limit
        self.assertEqual(rows["failing"][1:4], ["stopped", "-", "-"])
        self.assertEqual(rows["failing"][9], "-")
        # Columns line up: each header starts where its values start.
        starts = [m.start() for m in re.finditer(r"\S+", lines[0])]
        for line in lines[1:]:
            for start in starts[1:9]:
                self.assertNotEqual(line[start], " ", "misaligned:\n" + result.stdout)
                self.assertEqual(line[start - 1], " ", "misaligned:\n" + result.stdout)
        print(result.stdout)

        result = self.assert_ctl_ok(self.ctl("status", "--json"))
        document = json.loads(result.stdout)
        self.assertEqual(list(document), ["programs"])
        by_name = {p["name"]: p for p in document["programs"]}
        self.assertEqual(list(by_name), ["web", "worker", "failing", "stubborn"])  # file order
        for program in document["programs"]:
            self.assert_program_json(program)
        web = by_name["web"]
        self.assertEqual(web["state"], "running")
        self.assertIn(web["pid"], harness.read_pids(self.cgroups.program("web") + "/cgroup.procs"))
        self.assertEqual(web["memory_max_bytes"], 64 << 20)
        self.assertGreater(web["uptime_seconds"], 0)
        self.assertGreater(web["memory_peak_bytes"], 0)
        self.assertIsNone(by_name["worker"]["memory_max_bytes"])
        self.assertIsNone(by_name["failing"]["pid"])
        self.assertIsNone(by_name["failing"]["last_exit"])

        # Names select and order; unknown names are an error.
        result = self.assert_ctl_ok(self.ctl("status", "--json", "worker", "web"))
        self.assertEqual([p["name"] for p in json.loads(result.stdout)["programs"]],
                         ["worker", "web"])
        result = self.ctl("status", "web", "nope")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, "")
        self.assertEqual(result.stderr.count("\n"), 1, result.stderr)
        self.assertIn('"nope"', result.stderr)

    def test_stop_start_restart(self):
        daemon = self.start_manager()
        old = self.status("web")["web"]["pid"]

        began = time.monotonic()
        result = self.assert_ctl_ok(self.ctl("stop", "web"))
        self.assertEqual(result.stdout, "web: stopped\n")
        web = self.status("web")["web"]
        self.assertEqual(web["state"], "stopped")
        self.assertIsNone(web["pid"])
        self.assertFalse(harness.pid_alive(old))
        self.assertEqual(web["last_exit"]["kind"], "signal")
        self.assertEqual(web["last_exit"]["signal"], "SIGTERM")
        self.assertIsNone(web["last_exit"]["code"])
        at = datetime.datetime.fromisoformat(web["last_exit"]["at"].replace("Z", "+00:00"))
        age = datetime.datetime.now(datetime.timezone.utc) - at
        self.assertLess(abs(age.total_seconds()), 30)
        daemon.wait_for(r"web: running -> stopping \(control: stop by uid 0 \(pid \d+\)\)")

        result = self.assert_ctl_ok(self.ctl("start", "web"))
        m = re.match(r"^web: running \(pid (\d+)\)\n$", result.stdout)
        self.assertTrue(m, result.stdout)
        new = int(m.group(1))
        self.assertNotEqual(new, old)
        self.assertEqual(harness.read_pids(self.cgroups.program("web") + "/cgroup.procs"), [new])
        # settle is 200ms: the command waited for `running`, not just for the spawn.
        print("stop + start took %.2fs" % (time.monotonic() - began))

        result = self.assert_ctl_ok(self.ctl("restart", "web"))
        m = re.match(r"^web: running \(pid (\d+)\)\n$", result.stdout)
        self.assertTrue(m, result.stdout)
        self.assertNotEqual(int(m.group(1)), new)
        self.assertFalse(harness.pid_alive(new))
        self.assertEqual(self.status("web")["web"]["restarts"], 0)  # operator restarts don't count

        # A start of what runs is a no-op that succeeds.
        pid = self.status("web")["web"]["pid"]
        result = self.assert_ctl_ok(self.ctl("start", "web"))
        self.assertEqual(result.stdout, "web: running (pid %d)\n" % pid)

        # all: everything, in file order; the one that cannot start makes the exit 1.
        result = self.assert_ctl_ok(self.ctl("stop", "all"))
        self.assertEqual(sorted(result.stdout.splitlines()),
                         ["failing: stopped", "stubborn: stopped", "web: stopped",
                          "worker: stopped"])
        self.assertEqual({p["state"] for p in self.status().values()}, {"stopped"})
        result = self.ctl("start", "all")
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        started = sorted(line.split(":")[0] for line in result.stdout.splitlines())
        self.assertEqual(started, ["stubborn", "web", "worker"])
        self.assertRegex(result.stderr, r"^climits-ctl: failing: failed to start: (backoff|fatal); "
                                        r"last exit: exited 3 \(\d+s ago\)\n$")
        states = {n: p["state"] for n, p in self.status().items()}
        self.assertEqual(states["web"], "running")
        self.assertIn(states["failing"], {"backoff", "fatal", "starting"})

    def test_failure_reported_with_last_exit(self):
        self.start_manager()
        result = self.ctl("start", "failing")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, "")
        self.assertEqual(result.stderr.count("\n"), 1, result.stderr)
        self.assertIn("failing: failed to start", result.stderr)
        self.assertIn("exited 3", result.stderr)
        harness.wait_until(lambda: self.status("failing")["failing"]["state"] == "fatal", 10,
                           "failing to give up")
        failing = self.status("failing")["failing"]
        self.assert_program_json(failing)
        self.assertEqual(failing["last_exit"]["kind"], "exited")
        self.assertEqual(failing["last_exit"]["code"], 3)
        self.assertIsNone(failing["last_exit"]["signal"])
        self.assertEqual(failing["restarts"], 1)
        # Restarting a fatal program tries again, and fails again.
        result = self.ctl("restart", "failing")
        self.assertEqual(result.returncode, 1)
        self.assertIn("failing: failed to restart", result.stderr)

    def wait_stubborn_ready(self):
        # On a loaded machine the shell may not have set its trap within the settle time.
        harness.wait_until(lambda: os.path.exists(self.ready), 10, "stubborn's trap")
        os.unlink(self.ready)

    def test_stop_waits_for_the_stop_timeout(self):
        self.start_manager()
        self.wait_stubborn_ready()
        began = time.monotonic()
        result = self.assert_ctl_ok(self.ctl("stop", "stubborn"))
        took = time.monotonic() - began
        self.assertEqual(result.stdout, "stubborn: stopped\n")
        # Never before its stop.timeout (700ms). No upper bound: how soon after it the kill
        # comes is machine speed; that it came at all is "stopped" above (climits-ctl waits
        # up to 60 s) and the SIGKILL below.
        self.assertGreaterEqual(took, 0.6)
        stubborn = self.status("stubborn")["stubborn"]
        self.assertEqual(stubborn["last_exit"]["signal"], "SIGKILL")
        self.assertEqual(stubborn["last_exit"]["kind"], "signal")
        # --timeout shorter than the stop: reported as still stopping, exit 1.
        self.assert_ctl_ok(self.ctl("start", "stubborn"))
        self.wait_stubborn_ready()
        result = self.ctl("stop", "--timeout", "0.2", "stubborn")
        self.assertEqual(result.returncode, 1)
        self.assertIn("stubborn: still stopping after", result.stderr)

    def test_unknown_names_change_nothing(self):
        daemon = self.start_manager()
        before = {n: p["pid"] for n, p in self.status().items()}
        for command in ("stop", "start", "restart"):
            result = self.ctl(command, "web", "nope", "worker", "other")
            self.assertEqual(result.returncode, 1)
            self.assertEqual(result.stdout, "")
            self.assertEqual(result.stderr,
                             'climits-ctl: unknown programs "nope", "other"; nothing done\n')
        result = self.ctl("stop", "all", "nope")  # "all" does not excuse an unknown name
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr, 'climits-ctl: unknown program "nope"; nothing done\n')
        time.sleep(0.3)
        self.assertEqual({n: p["pid"] for n, p in self.status().items()}, before)
        self.assertNotIn("control: stop", daemon.log())
        # Raw: the same error, and no names at all for an action is an error too.
        conn = self.connect()
        response = conn.request({"cmd": "stop", "names": ["nope"]})
        self.assertEqual(response, {"ok": False, "error": 'unknown program "nope"; nothing done'})
        response = conn.request({"cmd": "stop"})
        self.assertFalse(response["ok"])
        conn.close()
        result = self.ctl("stop")
        self.assertEqual(result.returncode, 2)  # a usage error: no name

    def test_raw_action_response(self):
        self.start_manager()
        conn = self.connect()
        response = conn.request({"cmd": "stop", "names": ["stubborn", "web"]})
        self.assertTrue(response["ok"], response)
        self.assertEqual([p["name"] for p in response["programs"]], ["stubborn", "web"])
        for program in response["programs"]:
            self.assertEqual(program["state"], "stopping")
            self.assertTrue(is_int(program["pid"]))
            self.assertTrue(is_number(program["settle_seconds"]))
        self.assertEqual(response["programs"][0]["stop_timeout_seconds"], 0.7)
        self.assertEqual(response["programs"][1]["stop_timeout_seconds"], 5)
        response = conn.request({"cmd": "start", "names": ["all"]})
        self.assertEqual(len(response["programs"]), 4)
        conn.close()

    def test_reload(self):
        daemon = self.start_manager()
        before = self.status()
        more = programs(self.marker, self.ready)
        more["extra"] = {"command": ["sleep", self.marker], "start": {"settle": "100ms"}}
        self.write_config(more)
        result = self.assert_ctl_ok(self.ctl("reload"))
        self.assertEqual(result.stdout,
                         "reloaded: 1 added, 0 removed, 0 restarted, 0 updated live, 4 unchanged\n"
                         "  added: extra\n")
        daemon.wait_for(r"extra: starting -> running ")
        after = self.status()
        self.assertIn("extra", after)
        for name in ("web", "worker", "stubborn"):
            self.assertEqual(after[name]["pid"], before[name]["pid"])

        # An invalid file: every error, exit 1, nothing changes.
        with open(self.config, "w") as f:
            f.write("version: 1\nmanager:\n  control_socket: %s\n  cgroup_root: %s\n"
                    "programs:\n  web:\n    command: [sleep, '1']\n    memory: {max: 60Q}\n"
                    "    restart: {polcy: always}\n" % (self.socket, self.cgroups.memory))
        result = self.ctl("reload")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, "")
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 3, result.stderr)
        name = re.escape(self.config)
        self.assertRegex(lines[0], r"^%s:8:\d+: programs\.web\.memory\.max: " % name)
        self.assertRegex(lines[1], r"^%s:9:\d+: programs\.web\.restart\.polcy: " % name)
        self.assertRegex(lines[2], r"^climits-ctl: reload failed: configuration not valid "
                                   r"\(2 errors\)")
        conn = self.connect()
        response = conn.request({"cmd": "reload"})
        conn.close()
        self.assertFalse(response["ok"])
        self.assertRegex(response["error"], r"^configuration not valid \(2 errors\)")
        self.assertEqual(len(response["errors"]), 2)
        for error in response["errors"]:
            self.assertRegex(error, r"^.+:\d+:\d+: programs\.web\.")
        self.assertEqual({n: p["pid"] for n, p in self.status().items()},
                         {n: p["pid"] for n, p in after.items()})

    def test_version(self):
        self.start_manager()
        result = self.assert_ctl_ok(self.ctl("version"))
        lines = result.stdout.splitlines()
        self.assertRegex(lines[0], r"^climits-ctl \d+\.\d+\.\d+$")
        self.assertEqual(lines[1], "climits-manager %s on %s (protocol 1)"
                         % (lines[0].split()[1], self.socket))
        conn = self.connect()
        response = conn.request({"cmd": "version"})
        conn.close()
        self.assertEqual(response, {"ok": True, "version": lines[0].split()[1], "protocol": 1})

    def test_manager_not_running(self):
        for path in (os.path.join(self.dir, "missing", "control.sock"), self.socket):
            if path == self.socket:
                # A socket file nobody listens on.
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.bind(path)
                s.close()
            for args in (["status"], ["stop", "web"], ["reload"]):
                result = self.ctl(*args, socket_path=path)
                self.assertEqual(result.returncode, 1, result)
                self.assertEqual(result.stdout, "")
                self.assertEqual(result.stderr.count("\n"), 1, result.stderr)
                self.assertTrue(result.stderr.startswith(
                    "climits-ctl: the manager is not running on %s (" % path), result.stderr)
        result = self.ctl("--help")
        self.assertEqual(result.returncode, 0)
        for word in ("status", "start", "stop", "restart", "reload", "version", "--socket"):
            self.assertIn(word, result.stdout)


if __name__ == "__main__":
    harness.main()
