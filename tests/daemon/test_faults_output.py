"""Faults: programs that close or redirect their output.

- `exec >&-`, `exec 1>/dev/null`, both streams closed, a child that holds the pipe after its
  parent exits: the manager does not spin (no busy loop), says nothing about
  it (closing one's stdout is the program's business), stderr keeps reaching its file, and a
  restarted instance writes to the files again;
- a child that leaves its cgroup (root can) holding the output pipe: the pipe is read while
  the manager runs, and SIGTERM still ends the manager at once, exit 0, with one warning
  naming the pipe it stops reading.
"""

import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

def sh(script, **extra):
    program = {"command": ["sh", "-c", script], "start": {"settle": "100ms"}}
    program.update(extra)
    return program


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


class OutputFaultsTest(e2e.DaemonTest):

    def log(self, name, stream):
        return os.path.join(self.dir, "logs", "%s.%s.log" % (name, stream))

    def test_closed_and_redirected_output(self):
        both = e2e.unique_marker()
        runs = "run-%s" % e2e.unique_marker()
        held = e2e.unique_marker()
        programs = {
            "closes_stdout": sh('echo out-before; exec >&-; i=0; '
                                'while :; do i=$((i+1)); echo "err $i" >&2; sleep 0.1; done'),
            "to_devnull": sh('echo out-before; exec 1>/dev/null; '
                             'while :; do echo hidden; echo tick >&2; sleep 0.1; done'),
            "closes_both": sh('echo out; echo err >&2; exec >&- 2>&-; exec sleep %s' % both),
            # The child holds stdout and stderr; its parent exits 3 after 0.5 s and is
            # restarted. Each run writes one line, at its start.
            "child_holds": sh('sleep %s & echo "%s $$"; sleep 0.5; exit 3' % (held, runs),
                              restart={"policy": "on-failure",
                                       "backoff": {"initial": "300ms", "max": "300ms"},
                                       "limit": {"burst": 1000, "interval": "60s"}}),
        }
        daemon = self.daemon(self.write_config(programs))
        self.wait_running(daemon, programs)
        both_pid = e2e.wait_until(lambda: e2e.pids_with_cmdline(["sleep", both]), 10,
                                  "closes_both's sleep")
        e2e.wait_until(lambda: read(self.log("closes_stdout", "stderr")).count("\n") >= 3, 10,
                       "closes_stdout writing to stderr")

        # A while of this (at least 4 s, and until child_holds has run 4 more times and the
        # others have written 20 more lines to stderr, however slow the machine): no
        # spinning, no log lines but child_holds' restarts.
        began = time.monotonic()
        daemon.poll_log()
        since = len(daemon.lines)
        err_before = read(self.log("closes_stdout", "stderr")).count("\n")
        tick_before = read(self.log("to_devnull", "stderr")).count("\n")
        spin = e2e.SpinMeter(daemon.pid)

        def enough():
            return (time.monotonic() - began >= 4.0
                    and len(daemon.find(r"^child_holds: \w+ -> starting ", since=since)) >= 4
                    and read(self.log("closes_stdout", "stderr")).count("\n") > err_before + 20
                    and read(self.log("to_devnull", "stderr")).count("\n") > tick_before + 20)
        child_counts = []

        def sample():
            child_counts.append(len([p for p in self.cgroups.live_procs("child_holds")
                                     if e2e.cmdline(p) == ["sleep", held]]))
            return enough()
        e2e.wait_until(sample, 40, lambda: "4 more runs of child_holds and 20 more stderr lines "
                       "of closes_stdout and to_devnull (log tail:\n%s)" % daemon.tail(),
                       interval=0.05)
        # Not a CPU budget (that is bench/'s): only a busy loop uses 90% of a core.
        share = spin.share()
        print("manager CPU: %.1f%% of a core" % (share * 100))
        self.assertLess(share, 0.9, "the manager spins")
        daemon.poll_log()
        window = time.monotonic() - began
        new = daemon.lines[since:]
        for line in new:
            self.assertRegex(e2e.line_message(line),
                             r"^child_holds: (running -> backoff \(pid \d+ exited 3 after"
                             r"|backoff -> starting \(restart \d+\)"
                             r"|starting -> running \(alive after)")
        # Three transitions a run, a run every 0.8 s at least (0.5 s running, 300ms backoff),
        # over the window as it really lasted: a lower bound on each run's length, which a
        # slow machine only makes easier to meet.
        self.assertLessEqual(len(new), 3 * (window / 0.8 + 1), "\n".join(new))
        # Each run's child dies with it: never two of them.
        self.assertEqual(max(child_counts), 1, child_counts)

        # stderr kept reaching the files (waited for above); stdout holds only what came
        # before the close.
        self.assertEqual(read(self.log("closes_stdout", "stdout")), "out-before\n")
        self.assertEqual(read(self.log("to_devnull", "stdout")), "out-before\n")
        self.assertEqual(read(self.log("closes_both", "stdout")), "out\n")
        self.assertEqual(read(self.log("closes_both", "stderr")), "err\n")
        self.assertEqual(self.cgroups.live_procs("closes_both"), both_pid)

        # Every run of child_holds wrote its line, once.
        starts = len(daemon.find(r"^child_holds: \w+ -> starting "))
        e2e.wait_until(lambda: read(self.log("child_holds", "stdout")).count(runs) >= starts - 1,
                       10, "a line for each run of child_holds")
        lines = read(self.log("child_holds", "stdout")).splitlines()
        self.assertEqual(len(set(lines)), len(lines), "a run wrote twice: %s" % lines)

        # Restarted, the programs that closed their output write to the files again.
        for name in ("closes_stdout", "to_devnull", "closes_both"):
            result = self.ctl("restart", name)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for name, text in (("closes_stdout", "out-before\n"), ("to_devnull", "out-before\n"),
                           ("closes_both", "out\n")):
            e2e.wait_until(lambda: read(self.log(name, "stdout")) == text * 2, 10,
                           lambda: "%s's second run to write its stdout: %r"
                           % (name, read(self.log(name, "stdout"))))
        e2e.wait_until(lambda: read(self.log("closes_both", "stderr")) == "err\n" * 2, 10,
                       "closes_both's second run to write its stderr")
        daemon.poll_log()
        self.assertEqual(
            [l for l in daemon.lines if re.match(r"\S+ \S+ (warning|error|critical)", l)], [])

        status, _ = daemon.stop()
        self.assertEqual(status, 0, daemon.tail())
        self.assertEqual(self.cgroups.program_dirs(), [])

    def test_escaped_child_holding_the_pipe(self):
        # The child moves itself to the test's own cgroups (memory and pids): out of reach of
        # the manager's kill, with the program's stdout still open.
        escapes = []
        for hierarchy, mount in (("memory", e2e.MEMORY_MOUNT), ("pids", e2e.PIDS_MOUNT)):
            if os.path.isdir(mount):
                escapes.append("echo $$ > %s%s/cgroup.procs"
                               % (mount, e2e.own_cgroup(hierarchy).rstrip("/")))
        pidfile = os.path.join(self.dir, "escaped.pid")
        self.write_text("escape.sh", "#!/bin/sh\n%s\necho $$ > %s\n"
                        "while :; do echo from-the-escaped-child; sleep 0.1; done\n"
                        % ("\n".join(escapes), pidfile), mode=0o755)
        marker = e2e.unique_marker()
        programs = {"leaves": sh('%s/escape.sh & echo main; exec sleep %s' % (self.dir, marker))}
        daemon = self.daemon(self.write_config(programs))
        self.wait_running(daemon, programs)
        escaped = int(e2e.wait_until(lambda: read(pidfile).strip(), 10, "the escaped child"))
        self.addCleanup(lambda: e2e.alive(ident) and os.kill(escaped, signal.SIGKILL))
        ident = e2e.identity(escaped)
        self.assertNotIn(escaped, self.cgroups.procs("leaves"))
        out = self.log("leaves", "stdout")
        e2e.wait_until(lambda: read(out).count("from-the-escaped-child") >= 3, 10,
                       "the escaped child's output in the file")

        # No bound on how long the stop takes: the escaped child holds the pipes for as long
        # as it lives (until the test's cleanup), so a manager that waited for them would not
        # exit at all; the timeout is only a guard against that hang.
        status, _ = daemon.stop(timeout=30)
        self.assertEqual(status, 0, daemon.tail())
        # One warning for each of its two pipes (the child holds stdout and stderr).
        warnings = daemon.find(r"output pipe")
        self.assertEqual(len(warnings), 2, daemon.tail())
        for line, path in zip(warnings, (out, self.log("leaves", "stderr"))):
            self.assertRegex(e2e.line_message(line),
                             r"^leaves: its output pipe to %s is still held open by a process "
                             r"that left its cgroup; no longer reading it$" % re.escape(path))
        self.assertEqual(self.cgroups.program_dirs(), [])
        self.assertEqual(e2e.pids_with_cmdline(["sleep", marker]), [])


if __name__ == "__main__":
    e2e.main()
