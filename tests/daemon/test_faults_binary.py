"""Faults: a program's executable deleted or replaced between restarts.

- deleted: every start after that is one spawn error ("spawn error: <path>: No such file or
  directory"), one log line per attempt through backoff to `fatal`; status says so; the
  manager and a neighbour are untouched; once the file is back, `climits-ctl start` revives it;
- replaced by a rename while the old instance runs (a binary, and a script): the old instance
  keeps running the old file, the next start runs the new one;
- written in place between two runs (a deploy copying over the file while the manager restarts
  it): exec fails with "Text file busy" while the writer holds the file open, which is one
  spawn error and a retry after backoff, never a half-written program; then the new one runs.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

BURST = 3


def exe_inode(pid):
    """The inode of the file a process runs (also when that file was deleted or replaced)."""
    return os.stat("/proc/%d/exe" % pid).st_ino


def complaints(daemon, since):
    """Warning, error and critical lines of the manager's log from index `since`."""
    daemon.poll_log()
    return [l for l in daemon.lines[since:]
            if (m := e2e.LINE_RE.match(l)) and m.group(2) in ("warning", "error", "critical")]


def install(source, target):
    """Copy `source` beside `target` and rename it over `target`: a new inode, atomically."""
    shutil.copy(source, target + ".new")
    os.chmod(target + ".new", 0o755)
    os.rename(target + ".new", target)
    return os.stat(target).st_ino


class BinaryFaultsTest(e2e.DaemonTest):

    def status(self, name):
        result = self.ctl("status", name, "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        [program] = json.loads(result.stdout)["programs"]
        return program

    def one_process(self, name, timeout=20):
        """The single exec'd process of a program (waits for it)."""
        procs = e2e.wait_until(lambda: self.started_procs(name), timeout,
                               "a process of %s" % name)
        self.assertEqual(len(procs), 1, "%s: %s" % (name, procs))
        return procs[0]

    def test_deleted_binary_goes_fatal_then_comes_back(self):
        app = os.path.join(self.dir, "app")
        install("/bin/sleep", app)
        marker, other = e2e.unique_marker(), e2e.unique_marker()
        programs = {
            "app": {"command": ["./app", marker], "start": {"settle": "200ms"},
                    "restart": {"policy": "on-failure",
                                "backoff": {"initial": "100ms", "max": "200ms"},
                                "limit": {"burst": BURST, "interval": "60s"}}},
            "neighbour": {"command": ["sleep", other], "start": {"settle": "100ms"}},
        }
        daemon = self.daemon(self.write_config(programs))
        pids = self.wait_running(daemon, programs)
        neighbour = e2e.identity(pids["neighbour"][0])
        first = self.one_process("app")

        os.unlink(app)
        since = len(daemon.lines)
        os.kill(first, signal.SIGKILL)
        [fatal] = daemon.wait_for(r"^app: \w+ -> fatal ", since=since, timeout=30)
        reason = r"spawn error: %s: No such file or directory" % re.escape(app)
        self.assertRegex(e2e.line_message(fatal), reason)
        time.sleep(1.0)  # nothing more may come: no retry, no storm
        lines = daemon.find(r"^app: ", since=since)
        transitions = [e2e.transition(l)[1:3] for l in lines]
        self.assertEqual(transitions,
                         [("running", "backoff")] +
                         [("backoff", "starting"), ("starting", "backoff")] * (BURST - 1) +
                         [("backoff", "starting"), ("starting", "fatal")], "\n".join(lines))
        # One line per failed attempt, each with the reason; nothing else about it.
        failures = [l for l in daemon.lines[since:] if "No such file or directory" in l]
        self.assertEqual(len(failures), BURST, "\n".join(failures))
        for line in failures:
            self.assertRegex(e2e.line_message(line),
                             r"^app: starting -> \w+ \(pid \d+ " + reason + r" after \d+ms; ")
        self.assertEqual(complaints(daemon, since), [])

        status = self.status("app")
        self.assertEqual(status["state"], "fatal")
        self.assertIsNone(status["pid"])
        self.assertEqual(status["last_exit"]["kind"], "spawn-error")
        self.assertRegex(status["last_exit"]["description"], "^" + reason + "$")
        self.assertEqual(self.cgroups.live_procs("app"), [])
        self.assertTrue(e2e.alive(neighbour))
        self.assertEqual(self.cgroups.live_procs("neighbour"), [neighbour[0]])

        # The file comes back; an operator starts it again.
        inode = install("/bin/sleep", app)
        result = self.ctl("start", "app")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        revived = self.one_process("app")
        self.assertEqual(exe_inode(revived), inode)
        self.assertEqual(e2e.cmdline(revived), [app, marker])  # resolved against the file
        self.assertEqual(self.status("app")["state"], "running")
        self.assertTrue(e2e.alive(neighbour))

        status, _ = daemon.stop()
        self.assertEqual(status, 0, daemon.tail())
        self.assertEqual(self.cgroups.program_dirs(), [])

    def test_replaced_by_rename_runs_the_new_one(self):
        app = os.path.join(self.dir, "app")
        script = os.path.join(self.dir, "script")
        old_inode = install("/bin/sleep", app)
        self.write_text("v1", "#!/bin/sh\necho version 1\nexec sleep 1000\n", mode=0o755)
        self.write_text("v2", "#!/bin/sh\necho version 2\nexec sleep 1000\n", mode=0o755)
        install(os.path.join(self.dir, "v1"), script)
        marker = e2e.unique_marker()
        restart = {"policy": "always", "backoff": {"initial": "100ms", "max": "100ms"}}
        programs = {
            "binary": {"command": ["./app", marker], "start": {"settle": "100ms"},
                       "restart": restart},
            "script": {"command": ["./script"], "start": {"settle": "100ms"},
                       "restart": restart},
        }
        daemon = self.daemon(self.write_config(programs))
        self.wait_running(daemon, programs)
        old_binary = self.one_process("binary")
        old_script = self.one_process("script")
        self.assertEqual(exe_inode(old_binary), old_inode)

        # Swapped while the old instances run: they go on with the old files.
        new_inode = install("/bin/sleep", app)
        install(os.path.join(self.dir, "v2"), script)
        self.assertNotEqual(new_inode, old_inode)
        time.sleep(0.3)
        self.assertEqual(self.started_procs("binary"), [old_binary])
        self.assertEqual(exe_inode(old_binary), old_inode)  # the deleted old file

        since = len(daemon.lines)
        os.kill(old_binary, signal.SIGKILL)  # a crash: restarted by the policy
        result = self.ctl("restart", "script")  # an operator's restart
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        new_binary = e2e.wait_until(
            lambda: [p for p in self.started_procs("binary") if p != old_binary], 20,
            "binary restarted")
        self.assertEqual(len(new_binary), 1)
        self.assertEqual(exe_inode(new_binary[0]), new_inode)
        out = os.path.join(self.dir, "logs", "script.stdout.log")
        e2e.wait_until(lambda: "version 2" in open(out).read(), 20, "the new script's output")
        self.assertEqual(open(out).read(), "version 1\nversion 2\n")
        self.assertEqual(len(self.started_procs("script")), 1)
        self.assertEqual(daemon.find(r"spawn error", since=since), [])
        self.assertEqual(complaints(daemon, since), [])

        status, _ = daemon.stop()
        self.assertEqual(status, 0, daemon.tail())
        self.assertEqual(self.cgroups.program_dirs(), [])

    def kernel_refuses_exec_while_written(self):
        """Whether this kernel answers exec of a file open for writing with ETXTBSY (Linux
        always has; a kernel that stops doing so runs the file, and the test expects that)."""
        probe = os.path.join(self.dir, "probe")
        install("/bin/true", probe)
        fd = os.open(probe, os.O_WRONLY)
        try:
            subprocess.run([probe], check=True)
            return False
        except OSError as e:
            self.assertEqual(e.errno, 26, e)  # ETXTBSY
            return True
        finally:
            os.close(fd)

    def test_written_in_place_between_runs(self):
        refuses = self.kernel_refuses_exec_while_written()
        app = os.path.join(self.dir, "app")
        install("/bin/sleep", app)
        marker = e2e.unique_marker()
        programs = {"app": {"command": ["./app", marker], "start": {"settle": "100ms"},
                            "restart": {"policy": "on-failure",
                                        "backoff": {"initial": "1s", "max": "1s",
                                                    "jitter": 0},
                                        "limit": {"burst": 10, "interval": "60s"}}}}
        daemon = self.daemon(self.write_config(programs))
        self.wait_running(daemon, programs)
        first = self.one_process("app")
        # A running program's file cannot be opened for writing at all (ETXTBSY to the
        # writer): the in-place case is the deploy that writes while the program is down.
        since = len(daemon.lines)
        os.kill(first, signal.SIGKILL)
        [killed] = daemon.wait_for(r"^app: running -> backoff ", since=since)
        # The attempt after the kill's (on a loaded machine the first start may have needed a
        # second attempt already; this test is about the one after the kill).
        attempt = int(re.search(r"\(attempt (\d+)\)\)$", e2e.line_message(killed)).group(1)) + 1
        writer = os.open(app, os.O_WRONLY | os.O_TRUNC)
        try:
            with open("/bin/sleep", "rb") as source:
                os.write(writer, source.read())
            if refuses:
                [busy] = daemon.wait_for(r"^app: starting -> backoff ", since=since, timeout=20)
                self.assertRegex(e2e.line_message(busy),
                                 r"^app: starting -> backoff \(pid \d+ spawn error: %s: Text "
                                 r"file busy after \d+ms; restarting in 1s \(attempt %d\)\)$"
                                 % (re.escape(app), attempt))
        finally:
            os.close(writer)  # the copy is complete
        daemon.wait_for(r"^app: starting -> running ", since=since, timeout=20)
        self.assertEqual(len(daemon.find(r"Text file busy", since=since)), 1 if refuses else 0)
        current = self.one_process("app")
        self.assertNotEqual(current, first)
        self.assertEqual(exe_inode(current), os.stat(app).st_ino)
        self.assertEqual(complaints(daemon, since), [])
        status, _ = daemon.stop()
        self.assertEqual(status, 0, daemon.tail())


if __name__ == "__main__":
    e2e.main()
