"""`logs`: the last lines of program output, through the control socket, then with -f every
new line exactly once, across rotations and a SIGUSR1 reopen; several programs prefixed
"NAME | "; --stdout and --stderr; a program whose output is not a file is an error naming
it; a control_group member who cannot read the log directory still gets the lines; a reader
that falls behind skips lines and is told exactly how many."""

import grp
import json
import os
import re
import signal
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402


def sh(script, **extra):
    program = {"command": ["sh", "-c", script], "start": {"settle": "100ms"}}
    program.update(extra)
    return program


def numbered(count, prefix="line", stream=""):
    """A program that prints `count` numbered lines, then waits."""
    return sh('i=0; while [ $i -lt %d ]; do i=$((i+1)); echo "%s $i"%s; done; exec sleep 8%d'
              % (count, prefix, stream, os.getpid()))


class Follower:
    """`climits-ctl logs -f …` read by a thread: every line of its stdout, in order."""

    def __init__(self, test, *args):
        self.proc = subprocess.Popen([harness.CTL, "-s", test.socket, "logs", "-f", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        test.addCleanup(self.proc.kill)
        self.lines = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def interrupt(self):
        self.proc.send_signal(signal.SIGINT)
        status = self.proc.wait(timeout=30)
        self.thread.join(timeout=30)
        return status, self.proc.stderr.read()


def numbers(lines, prefix="line "):
    return [int(line[len(prefix):]) for line in lines]


class LogsTest(harness.ControlTest):

    def logs_dir(self):
        return os.path.join(self.dir, "logs")

    def test_last_lines(self):
        daemon = self.daemon(self.write_config({"counter": numbered(100)}))
        daemon.wait_for(r"^counter: starting -> running ")
        path = os.path.join(self.logs_dir(), "counter.stdout.log")
        wait_until(lambda: os.path.exists(path) and open(path).read().endswith("line 100\n"),
                   20, "100 lines written")
        result = self.assert_ctl_ok(self.ctl("logs", "-n", "5", "counter"))
        self.assertEqual(result.stdout, "".join("line %d\n" % n for n in range(96, 101)))
        self.assertEqual(result.stderr, "")
        result = self.assert_ctl_ok(self.ctl("logs", "counter"))  # 10 by default
        self.assertEqual(result.stdout, "".join("line %d\n" % n for n in range(91, 101)))
        self.assertEqual(self.assert_ctl_ok(self.ctl("logs", "-n", "1000", "counter")).stdout,
                         "".join("line %d\n" % n for n in range(1, 101)))
        self.assertEqual(self.assert_ctl_ok(self.ctl("logs", "-n", "0", "counter")).stdout, "")
        # The raw protocol: the first line, the lines, and the last line saying it is complete.
        conn = self.connect()
        self.addCleanup(conn.close)
        first = conn.request({"cmd": "logs", "names": ["counter"], "lines": 2,
                              "stream": "stdout"})
        self.assertEqual(first, {"ok": True, "stream": "logs", "follow": False,
                                 "sources": [{"name": "counter", "stream": "stdout",
                                              "path": path}]})
        self.assertEqual(json.loads(conn.read_line()),
                         {"name": "counter", "stream": "stdout", "line": "line 99"})
        self.assertEqual(json.loads(conn.read_line()),
                         {"name": "counter", "stream": "stdout", "line": "line 100"})
        self.assertEqual(json.loads(conn.read_line()), {"complete": True, "lines": 2})
        self.assertTrue(conn.at_eof())

    def test_streams_and_several_programs(self):
        programs = {"alpha": numbered(3, "out", ""), "beta": numbered(3, "err", " >&2"),
                    "silent": sh("exec sleep 8%d" % os.getpid(), stdout={"file": "null"},
                                 stderr={"file": "inherit"}),
                    "merged": sh("echo m-out; echo m-err >&2; exec sleep 8%d" % os.getpid(),
                                 stderr={"file": "stdout"})}
        daemon = self.daemon(self.write_config(programs))
        self.wait_files({"alpha.stdout.log": "out 3\n", "beta.stderr.log": "err 3\n"})
        merged = os.path.join(self.logs_dir(), "merged.stdout.log")
        wait_until(lambda: os.path.exists(merged) and len(open(merged).readlines()) == 2, 20,
                   "merged output")
        # A stderr merged into stdout is in stdout's file: --stderr shows that file, once.
        # (One pipe carries both, so the file has them in the order written.)
        for args in (["--stderr"], ["--stdout"], []):
            self.assertEqual(self.assert_ctl_ok(self.ctl("logs", *args, "merged")).stdout,
                             "m-out\nm-err\n")
        both = self.assert_ctl_ok(self.ctl("logs", "-n", "2", "alpha", "beta")).stdout
        # One file after the other, each in order, each line prefixed by its program.
        self.assertEqual(both, "alpha | out 2\nalpha | out 3\nbeta | err 2\nbeta | err 3\n")
        # all: the programs whose output goes to a file (silent's does not).
        shown = self.assert_ctl_ok(self.ctl("logs", "-n", "1", "all")).stdout.splitlines()
        self.assertEqual(shown[:2], ["alpha | out 3", "beta | err 3"])
        self.assertEqual(len(shown), 3)
        self.assertEqual(shown[2], "merged | m-err")
        self.assertEqual(self.assert_ctl_ok(self.ctl("logs", "--stderr", "all")).stdout,
                         "beta | err 1\nbeta | err 2\nbeta | err 3\nmerged | m-out\n"
                         "merged | m-err\n")
        # One program: no prefix.
        self.assertEqual(self.assert_ctl_ok(self.ctl("logs", "--stderr", "beta")).stdout,
                         "err 1\nerr 2\nerr 3\n")
        self.assertEqual(self.assert_ctl_ok(self.ctl("logs", "--stdout", "beta")).stdout, "")
        # Errors: one line naming the program, exit 1.
        result = self.ctl("logs", "silent")
        self.assertEqual((result.returncode, result.stdout), (1, ""))
        self.assertEqual(result.stderr, "climits-ctl: not written to a file: silent (stdout: "
                                        "null, stderr: inherit); nothing to show\n")
        result = self.ctl("logs", "--stderr", "alpha", "silent")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr, "climits-ctl: not written to a file: silent (stderr: "
                                        "inherit); nothing to show\n")
        result = self.ctl("logs", "nope", "alpha")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr, 'climits-ctl: unknown program "nope"; nothing done\n')
        result = self.ctl("logs", "--stdout", "--stderr", "alpha")
        self.assertEqual(result.returncode, 2)
        self.assertTrue(daemon.running())

    def wait_files(self, expected):
        for name, ending in expected.items():
            path = os.path.join(self.logs_dir(), name)
            wait_until(lambda: os.path.exists(path) and open(path).read().endswith(ending), 20,
                       "%s written" % name)

    def test_follow_across_rotation_and_reopen(self):
        # Numbered lines at a pace a reader keeps up with, into a small file that rotates
        # every few hundred lines.
        program = sh('i=0; while :; do i=$((i+1)); echo "line $i"; '
                     'if [ $((i % 20)) -eq 0 ]; then sleep 0.01; fi; done',
                     stdout={"file": "auto", "max_size": "16K", "keep": 2})
        daemon = self.daemon(self.write_config({"flood": program}))
        daemon.wait_for(r"^flood: starting -> running ")
        path = os.path.join(self.logs_dir(), "flood.stdout.log")
        follower = Follower(self, "-n", "5", "flood")
        wait_until(lambda: len(follower.lines) > 100, 30, "lines followed")
        # Rotations while following.
        inode = os.stat(path).st_ino
        wait_until(lambda: os.path.exists(path + ".2") and os.stat(path).st_ino != inode, 30,
                   "rotations")
        for _ in range(2):
            inode = os.stat(path).st_ino
            wait_until(lambda: os.stat(path).st_ino != inode, 30, "another rotation")
        # As logrotate does it: the file renamed away, then SIGUSR1 for a fresh one.
        os.rename(path, path + ".moved")
        daemon.send(signal.SIGUSR1)
        daemon.wait_for(r"SIGUSR1 received")
        wait_until(lambda: os.path.exists(path) and os.path.getsize(path) > 1000, 30,
                   "output in the reopened file")
        seen = len(follower.lines)
        wait_until(lambda: len(follower.lines) > seen + 1000, 30, "lines after the reopen")
        self.assert_ctl_ok(self.ctl("stop", "flood"))
        status, err = follower.interrupt()
        self.assertEqual((status, err), (0, ""))
        got = numbers(follower.lines)
        first = got[0]
        self.assertEqual(got, list(range(first, first + len(got))),
                         "not every line exactly once, in order")
        # The five it started with were the file's last five then: nothing before them is
        # shown, and what followed came without a gap (checked above).
        self.assertGreaterEqual(first, 1)
        self.assertGreater(len(got), 2000)

    def test_a_member_who_cannot_read_the_files(self):
        group = "climits-logs-%d" % os.getpid()
        subprocess.run(["groupadd", "--system", group], check=True, capture_output=True)
        self.addCleanup(lambda: subprocess.run(["groupdel", group], capture_output=True))
        gid = grp.getgrnam(group).gr_gid
        daemon = self.daemon(self.write_config({"counter": numbered(20)}, control_group=group))
        daemon.wait_for(r"^counter: starting -> running ")
        self.wait_files({"counter.stdout.log": "line 20\n"})
        os.chmod(self.logs_dir(), 0o700)
        path = os.path.join(self.logs_dir(), "counter.stdout.log")
        direct = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                                 "--groups=%d" % gid, "cat", path], capture_output=True)
        self.assertNotEqual(direct.returncode, 0, "nobody can read the file: no test")
        result = self.assert_ctl_ok(self.ctl("logs", "-n", "3", "counter", user="nobody",
                                             groups=[gid]))
        self.assertEqual(result.stdout, "line 18\nline 19\nline 20\n")
        # And follows it.
        follower = subprocess.Popen(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--groups=%d" % gid, harness.CTL,
             "-s", self.socket, "logs", "-f", "-n", "1", "counter"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(follower.kill)
        self.assertEqual(follower.stdout.readline(), "line 20\n")
        self.assert_ctl_ok(self.ctl("restart", "counter"))
        self.assertEqual(follower.stdout.readline(), "line 1\n")
        follower.send_signal(signal.SIGINT)
        self.assertEqual(follower.wait(timeout=30), 0)

    def test_a_slow_reader_skips_and_is_told_how_much(self):
        program = sh('i=0; while :; do i=$((i+1)); echo "line $i"; done')
        daemon = self.daemon(self.write_config({"flood": program}, log_level="debug"))
        daemon.wait_for(r"^flood: starting -> running ")
        conn = harness.Connection(self.socket)
        self.addCleanup(conn.close)
        conn.sock.setsockopt(harness.socket.SOL_SOCKET, harness.socket.SO_RCVBUF, 4096)
        first = conn.request({"cmd": "logs", "names": ["flood"], "lines": 0, "follow": True})
        self.assertEqual(first["follow"], True)
        # Not reading until the manager says it skips.
        daemon.wait_for(r"control: uid 0 \(pid %d\) falls behind its stream: skipping lines"
                        % os.getpid(), timeout=60)
        self.assertEqual(self.status()["flood"]["state"], "running")
        conn.sock.settimeout(30)
        previous, markers, lines = None, [], 0
        while len(markers) < 1 or lines < 1000:
            obj = json.loads(conn.read_line())
            if "skipped" in obj:
                markers.append(obj["skipped"])
                self.assertGreater(obj["skipped"]["bytes"], 0)
                if previous is not None:
                    gap = obj["skipped"]["lines"]
                    nxt = json.loads(conn.read_line())
                    self.assertIn("line", nxt, "a marker follows a marker")
                    number = int(nxt["line"][len("line "):])
                    self.assertEqual(number, previous + gap + 1,
                                     "the marker's count is not the gap")
                    previous = number
                    lines += 1
                continue
            number = int(obj["line"][len("line "):])
            if previous is not None:
                self.assertEqual(number, previous + 1, "a gap without a marker")
            previous = number
            lines += 1
        self.assertGreater(markers[0]["lines"], 0)
        self.assertTrue(daemon.running())


if __name__ == "__main__":
    harness.main()
