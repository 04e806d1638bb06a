"""`climits-ctl signal SIGNAL NAME...|all [--all-processes]` end to end: a trapped SIGHUP
reaches the main process (by name, any case, with or without SIG, or by number), the manager
logs it with its cause, --all-processes reaches a child in the cgroup while the plain form
does not, a program without a process is an error naming it while the others are still
signalled, `all`, bad signals as usage errors, and the raw protocol's fields and errors."""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# Each trap appends a word to a file, so a test sees every signal that arrived, in order.
# `sleep 1 & wait $!` keeps the shell waiting in a builtin that a trapped signal interrupts
# at once (a foreground `sleep` would delay the trap until it ends).
TRAPS = "trap 'echo hup >> {out}' HUP; trap 'echo usr1 >> {out}' USR1; " \
        "trap 'echo usr2 >> {out}' USR2"


def trapping_shell(out, ready, before_loop=""):
    return ("%s; %s : > %s; while :; do sleep 1 & wait $!; done"
            % (TRAPS.format(out=out), before_loop, ready))


def read_words(path):
    try:
        with open(path) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


class SignalTest(harness.ControlTest):

    def start_manager(self):
        self.out = os.path.join(self.dir, "main.out")
        self.child_out = os.path.join(self.dir, "child.out")
        self.family_out = os.path.join(self.dir, "family.out")
        self.child_pid_file = os.path.join(self.dir, "child.pid")
        ready = {name: os.path.join(self.dir, name + ".ready")
                 for name in ("trapper", "family", "child")}
        child = trapping_shell(self.child_out, ready["child"])
        programs = {
            "trapper": {"command": ["sh", "-c", trapping_shell(self.out, ready["trapper"])],
                        "start": {"settle": "100ms"}, "stop": {"timeout": "2s"}},
            # The main shell starts a child shell with traps of its own, in the same cgroup.
            "family": {"command": ["sh", "-c", trapping_shell(
                self.family_out, ready["family"],
                "sh -c %s & echo $! > %s;" % (shell_quote(child), self.child_pid_file))],
                "start": {"settle": "100ms"}, "stop": {"timeout": "2s"}},
            "idle": {"command": ["sleep", "1000"], "autostart": False},
        }
        self.daemon_ = self.daemon(self.write_config(programs))
        for name in ("trapper", "family"):
            self.daemon_.wait_for(r"%s: starting -> running " % name)
        for name, path in ready.items():
            harness.wait_until(lambda p=path: os.path.exists(p), 30, name + "'s traps")
        self.child_pid = int(open(self.child_pid_file).read())
        return self.daemon_

    def wait_words(self, path, words):
        harness.wait_until(lambda: read_words(path) == words, 30,
                           lambda: "%s to read %s (it reads %s)" % (path, words, read_words(path)))

    def test_by_name_and_number_to_the_main_process(self):
        daemon = self.start_manager()
        pid = self.status("trapper")["trapper"]["pid"]
        result = self.assert_ctl_ok(self.ctl("signal", "HUP", "trapper"))
        self.assertEqual(result.stdout, "trapper: SIGHUP sent to pid %d\n" % pid)
        self.assertEqual(result.stderr, "")
        self.wait_words(self.out, ["hup"])
        daemon.wait_for(r"trapper: SIGHUP sent to pid %d \(control: signal by uid 0 \(pid \d+\)\)"
                        % pid)
        # A number (10 is SIGUSR1 on Linux), and a name in lower case with SIG.
        result = self.assert_ctl_ok(self.ctl("signal", "10", "trapper"))
        self.assertEqual(result.stdout, "trapper: SIGUSR1 sent to pid %d\n" % pid)
        self.wait_words(self.out, ["hup", "usr1"])
        self.assert_ctl_ok(self.ctl("signal", "sigusr2", "trapper"))
        self.wait_words(self.out, ["hup", "usr1", "usr2"])
        # A trapped signal is not an exit: the same process still runs.
        trapper = self.status("trapper")["trapper"]
        self.assertEqual((trapper["state"], trapper["pid"]), ("running", pid))

    def test_all_processes_reaches_a_child(self):
        self.start_manager()
        main = self.status("family")["family"]["pid"]
        # Without --all-processes only the main process gets it.
        self.assert_ctl_ok(self.ctl("signal", "USR1", "family"))
        self.wait_words(self.family_out, ["usr1"])
        result = self.assert_ctl_ok(self.ctl("signal", "--all-processes", "USR2", "family"))
        self.wait_words(self.family_out, ["usr1", "usr2"])
        self.wait_words(self.child_out, ["usr2"])
        m = re.match(r"^family: SIGUSR2 sent to pids ([\d, ]+)\n$", result.stdout)
        self.assertTrue(m, result.stdout)
        pids = [int(p) for p in m.group(1).split(", ")]
        self.assertIn(main, pids)
        self.assertIn(self.child_pid, pids)
        # The plain form never reached the child: its only word is the USR2 sent to all.
        self.assertEqual(read_words(self.child_out), ["usr2"])

    def test_a_program_without_a_process_is_an_error_the_others_are_signalled(self):
        daemon = self.start_manager()
        result = self.ctl("signal", "HUP", "idle", "trapper")
        self.assertEqual(result.returncode, 1, result)
        pid = self.status("trapper")["trapper"]["pid"]
        self.assertEqual(result.stdout, "trapper: SIGHUP sent to pid %d\n" % pid)
        self.assertEqual(result.stderr,
                         "climits-ctl: idle: not signalled: no process to signal (it is "
                         "stopped)\n")
        self.wait_words(self.out, ["hup"])
        daemon.wait_for(r"idle: SIGHUP not sent: no process to signal \(it is stopped\) "
                        r"\(control: signal by uid 0")

    def test_all(self):
        self.start_manager()
        result = self.ctl("signal", "usr1", "all")
        # idle has no process: named, exit 1; every running program is signalled.
        self.assertEqual(result.returncode, 1, result)
        lines = sorted(result.stdout.splitlines())
        self.assertEqual(len(lines), 2, result.stdout)
        self.assertRegex(lines[0], r"^family: SIGUSR1 sent to pid \d+$")
        self.assertRegex(lines[1], r"^trapper: SIGUSR1 sent to pid \d+$")
        self.assertIn("climits-ctl: idle: not signalled", result.stderr)
        self.wait_words(self.out, ["usr1"])
        self.wait_words(self.family_out, ["usr1"])

    def test_bad_signals_are_usage_errors(self):
        daemon = self.start_manager()
        for bad in ("FOO", "SIGFOO", "0", "65", "-1", "HUP1"):
            result = self.ctl("signal", bad, "trapper")
            self.assertEqual(result.returncode, 2, (bad, result))
            self.assertEqual(result.stdout, "")
            self.assertEqual(result.stderr.splitlines(), [
                'climits-ctl: signal: unknown signal "%s" (use a name such as HUP, USR1 or '
                'SIGTERM, or a number from 1 to 64)' % bad,
                "climits-ctl: try 'climits-ctl signal --help'"], bad)
        # An unknown program: nothing is sent to anyone.
        result = self.ctl("signal", "HUP", "trapper", "nope")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr, 'climits-ctl: unknown program "nope"; nothing done\n')
        self.assertEqual(daemon.find(r"sent to"), [])
        self.assertEqual(read_words(self.out), [])

    def test_raw_protocol(self):
        self.start_manager()
        pid = self.status("trapper")["trapper"]["pid"]
        conn = self.connect()
        try:
            response = conn.request({"cmd": "signal", "names": ["trapper"], "signal": "HUP",
                                     "all_processes": False})
            self.assertEqual(response, {"ok": True, "signal": "SIGHUP",
                                        "programs": [{"name": "trapper", "pids": [pid]}]})
            self.wait_words(self.out, ["hup"])
            response = conn.request({"cmd": "signal", "names": ["trapper"], "signal": 10})
            self.assertEqual(response["signal"], "SIGUSR1", response)
            self.wait_words(self.out, ["hup", "usr1"])
            response = conn.request({"cmd": "signal", "names": ["idle", "trapper"],
                                     "signal": "USR2"})
            self.assertEqual(response["ok"], False, response)
            self.assertEqual(response["error"],
                             "not signalled: idle: no process to signal (it is stopped)")
            self.assertEqual(response["programs"][0],
                             {"name": "idle", "pids": [],
                              "error": "no process to signal (it is stopped)"})
            self.assertEqual(response["programs"][1], {"name": "trapper", "pids": [pid]})
            errors = {
                json.dumps({"cmd": "signal", "names": ["trapper"]}): "signal needs \"signal\"",
                json.dumps({"cmd": "signal", "signal": "HUP"}): "signal needs program names",
                json.dumps({"cmd": "signal", "names": ["trapper"], "signal": "NOPE"}):
                    'unknown signal "NOPE"',
                json.dumps({"cmd": "signal", "names": ["trapper"], "signal": 0}):
                    "no signal has the number 0",
                json.dumps({"cmd": "signal", "names": ["trapper"], "signal": [1]}):
                    '"signal" must be a name or a whole number',
                json.dumps({"cmd": "signal", "names": ["trapper"], "signal": "HUP",
                            "all_processes": "yes"}): '"all_processes" must be true or false',
                json.dumps({"cmd": "status", "signal": "HUP"}): 'unknown key "signal"',
            }
            for request, error in errors.items():
                response = conn.request(request.encode())
                self.assertEqual(response["ok"], False, request)
                self.assertTrue(response["error"].startswith(error), (request, response))
        finally:
            conn.close()
        self.wait_words(self.out, ["hup", "usr1", "usr2"])


def shell_quote(text):
    return "'" + text.replace("'", "'\\''") + "'"


if __name__ == "__main__":
    harness.main()
