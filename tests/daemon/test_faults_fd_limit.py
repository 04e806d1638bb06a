"""Faults: the open-file limit (RLIMIT_NOFILE) too low for the configuration.

The decision (docs/supervision.md, "File descriptors"): the manager raises its soft limit to
the hard one, gives programs the original soft limit, estimates what it needs (64, plus per
program 1 for the helper's status pipe, 1 for the OOM eventfd on v1, 2 for each stream that
goes to a file) and
- at start-up refuses a configuration above its limit: exit 2, one error line with the
  estimate, the limit and the fix, nothing created, nothing started;
- refuses such a reload with one error line and keeps running the old configuration;
- `--check` prints the estimate, and warns when the manager would refuse to start;
- when descriptors run out anyway (a leak elsewhere, simulated by lowering the running
  manager's limit), a start is a spawn error that names the limit, once per attempt through
  backoff; the control socket stops accepting for a second at a time with one warning, and
  clients wait; nothing spins, and everything recovers when descriptors are available again.
"""

import contextlib
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402


def estimate(programs, file_streams=2):
    """The manager's documented estimate on cgroup v1: per program the status pipe, the OOM
    eventfd, the usage and peak files, and 2 per stream written to a file."""
    return 64 + programs * (1 + 1 + 2 + 2 * file_streams)


def file_limits(pid):
    """(soft, hard) RLIMIT_NOFILE of a process."""
    return resource.prlimit(pid, resource.RLIMIT_NOFILE)


def with_file_limit(soft, hard):
    """A preexec_fn that sets the child's open-file limit (the test's own stays as it is:
    without CAP_SYS_RESOURCE a lowered hard limit cannot be raised again)."""
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@contextlib.contextmanager
def manager_with_file_limit(workdir, soft, hard):
    """Daemons started in the body run the manager with this open-file limit: through
    prlimit(1), which sets it and execs the manager (same pid)."""
    wrapper = os.path.join(workdir, "manager-nofile-%d-%d" % (soft, hard))
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec prlimit --nofile=%d:%d -- %s "$@"\n' % (soft, hard, e2e.MANAGER))
    os.chmod(wrapper, 0o755)
    real = e2e.MANAGER
    e2e.MANAGER = wrapper
    try:
        yield
    finally:
        e2e.MANAGER = real


def severe(lines):
    return [l for l in lines if re.match(r"\S+ \S+ (error|critical)", l)]


class FdLimitTest(e2e.DaemonTest):

    def sleepers(self, count, marker):
        return {"p%04d" % i: {"command": ["sleep", marker], "start": {"settle": "50ms"}}
                for i in range(count)}

    def test_start_refused_above_the_limit(self):
        marker = e2e.unique_marker()
        config = self.write_config(self.sleepers(1000, marker))
        needed = estimate(1000)
        suggested = (needed + 1023) // 1024 * 1024
        # The refusal comes before anything is started (asserted below: no cgroup, no
        # process, no socket); how fast is not asserted, the timeout only guards a hang.
        run = subprocess.run([e2e.MANAGER, "-c", config], capture_output=True, text=True,
                             cwd=self.dir, timeout=60, preexec_fn=with_file_limit(256, 256))
        check = subprocess.run([e2e.MANAGER, "--check", "-c", config], capture_output=True,
                               text=True, cwd=self.dir, timeout=60,
                               preexec_fn=with_file_limit(256, 256))
        self.assertEqual(run.returncode, 2, run.stderr)
        lines = run.stderr.splitlines()
        [error] = severe(lines)
        self.assertEqual(
            e2e.line_message(error),
            "not enough file descriptors: 1000 programs need about %d open files, more than "
            "the open-file limit of 256 (RLIMIT_NOFILE); raise it with LimitNOFILE=%d in the "
            "unit (systemctl edit climits-manager), or ulimit -n %d in the shell that starts "
            "climits-manager; nothing was started" % (needed, suggested, suggested))
        self.assertEqual(len(lines), 2, run.stderr)  # the start line, and that
        self.assertEqual(self.cgroups.program_dirs(), [])
        self.assertEqual(e2e.pids_with_cmdline(["sleep", marker]), [])
        self.assertFalse(os.path.exists(os.path.join(self.dir, "control.sock")))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "logs")))

        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)  # the file is valid
        self.assertIn("file descriptors: about %d needed; the manager would have 256 (its soft "
                      "limit 256, raised to the hard limit)" % needed, check.stdout)
        self.assertIn("warning: file descriptors: the manager would refuse to start with this "
                      "file: about %d needed, more than the limit of 256; raise it with "
                      "LimitNOFILE=%d" % (needed, suggested), check.stderr)

    def test_soft_limit_raised_for_the_manager_not_for_programs(self):
        out = os.path.join(self.dir, "limits.out")
        programs = {"shows": {"command": ["sh", "-c", 'echo "$(ulimit -Sn) $(ulimit -Hn)" > %s; '
                                          'exec sleep %s' % (out, e2e.unique_marker())],
                              "start": {"settle": "50ms"}}}
        with manager_with_file_limit(self.dir, 300, 8192):
            daemon = self.daemon(self.write_config(programs))
        self.wait_running(daemon, programs)
        self.assertEqual(file_limits(daemon.pid), (8192, 8192))
        e2e.wait_until(lambda: os.path.exists(out) and open(out).read(), 10, "the limits")
        self.assertEqual(open(out).read(), "300 8192\n")
        result = subprocess.run([e2e.MANAGER, "--check", "-c", daemon.config_path],
                                capture_output=True, text=True, timeout=60)
        self.assertIn("file descriptors: about %d needed" % estimate(1), result.stdout)
        self.assertEqual(result.stderr, "")
        self.assertEqual(daemon.stop()[0], 0)

    def test_reload_refused_above_the_limit(self):
        marker = e2e.unique_marker()
        config = self.write_config(self.sleepers(20, marker))
        self.assertLessEqual(estimate(20), 256)
        self.assertGreater(estimate(40), 256)
        with manager_with_file_limit(self.dir, 256, 256):
            daemon = self.daemon(config)
        before = self.wait_running(daemon, self.sleepers(20, marker), timeout=60)
        self.write_config(self.sleepers(40, marker))
        since = len(daemon.lines)
        daemon.send(signal.SIGHUP)
        [error] = daemon.wait_for(r"^reload: refused: ", since=since)
        self.assertEqual(
            e2e.line_message(error),
            "reload: refused: 40 programs need about %d open files, more than the open-file "
            "limit of 256 (RLIMIT_NOFILE); raise it with LimitNOFILE=1024 in the unit "
            "(systemctl edit climits-manager), or ulimit -n 1024 in the shell that starts "
            "climits-manager; the running configuration stays" % estimate(40))
        # The same refusal through climits-ctl, with the reason on stderr.
        result = self.ctl("reload")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("40 programs need about %d open files" % estimate(40), result.stderr)
        self.assertIn("LimitNOFILE=1024", result.stderr)
        time.sleep(0.5)
        lines = daemon.find(r".", since=since)
        self.assertEqual(len(severe(lines)), 2, "\n".join(lines))  # one per reload
        self.assertEqual(daemon.find(r"^reload: \d+ added", since=since), [])
        self.assertEqual(len(self.cgroups.program_dirs()), 20 * 2)  # memory and pids
        self.assertEqual({n: self.cgroups.live_procs(n) for n in before}, before)

        # A configuration that fits is applied.
        self.assertLessEqual(estimate(22), 256)
        self.write_config(self.sleepers(22, marker))
        daemon.send(signal.SIGHUP)
        daemon.wait_for(r"^reload: 2 added, 0 removed, 0 restarted, 0 updated live, "
                        r"20 unchanged$", since=since)
        self.wait_running(daemon, ["p%04d" % i for i in range(20, 22)])
        self.assertEqual({n: self.cgroups.live_procs(n) for n in before}, before)
        self.assertEqual(daemon.stop()[0], 0)
        self.assertEqual(self.cgroups.program_dirs(), [])

    def test_running_out_of_descriptors(self):
        programs = {
            "flap": {"command": ["sleep", e2e.unique_marker()], "start": {"settle": "100ms"},
                     "restart": {"policy": "always",
                                 "backoff": {"initial": "500ms", "max": "500ms", "jitter": 0},
                                 "limit": {"burst": 1000, "interval": "60s"}}},
            "steady": {"command": ["sleep", e2e.unique_marker()], "start": {"settle": "100ms"}},
        }
        daemon = self.daemon(self.write_config(programs))
        pids = self.wait_running(daemon, programs)
        steady = e2e.identity(pids["steady"][0])
        self.assertEqual(self.ctl("status").returncode, 0)
        soft, hard = file_limits(daemon.pid)

        # An fd leak elsewhere, simulated: flap is made to restart, and while it waits for
        # its backoff (its last run's descriptors closed by then), the manager's limit is
        # lowered so that nothing new can be opened: to the lowest free descriptor number,
        # and below libuv's spare descriptor (the manager's only /dev/null besides stdin),
        # with which libuv would otherwise shed control connections by itself, silently.
        since = len(daemon.lines)
        flap_pipes = set()
        for fd in ("1", "2"):
            target = os.readlink("/proc/%d/fd/%s" % (pids["flap"][0], fd))
            if target.startswith("pipe:"):
                flap_pipes.add(target)  # the manager's read end shows the same pipe:[inode]
        os.kill(pids["flap"][0], signal.SIGKILL)
        daemon.wait_for(r"^flap: running -> backoff ", since=since)

        def manager_fds():
            found = {}
            for fd in os.listdir("/proc/%d/fd" % daemon.pid):
                try:
                    found[int(fd)] = os.readlink("/proc/%d/fd/%s" % (daemon.pid, fd))
                except FileNotFoundError:
                    pass  # closed meanwhile
            return found
        e2e.wait_until(lambda: not flap_pipes & set(manager_fds().values()), 10,
                       lambda: "the manager to close flap's last output pipes %s" % flap_pipes)
        fds = manager_fds()
        lowest_free = min(set(range(len(fds) + 1)) - set(fds))
        [spare] = [fd for fd, target in fds.items() if fd > 2 and target == "/dev/null"]
        limit = min(lowest_free, spare)
        resource.prlimit(daemon.pid, resource.RLIMIT_NOFILE, (limit, hard))
        reason = (r"spawn error: creating an output pipe: Too many open files \(the manager "
                  r"is at its open-file limit of %d; raise LimitNOFILE= in the unit, or "
                  r"ulimit -n\)" % limit)
        daemon.wait_for(r"^flap: starting -> backoff \(%s; restarting in 500ms" % reason,
                        since=since, count=2, timeout=20)

        # A client meanwhile: it waits, the manager says so once, and nothing spins.
        began = time.monotonic()
        daemon.poll_log()
        window = len(daemon.lines)
        ctl = os.path.join(os.path.dirname(e2e.MANAGER), "climits-ctl")
        waiting = subprocess.Popen([ctl, "-s", os.path.join(self.dir, "control.sock"),
                                    "status", "--json"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: waiting.poll() is None and waiting.kill())
        spin = e2e.SpinMeter(daemon.pid)
        # The shortage lasts at least 3 s (the manager retries the accept every second), and
        # until it has been seen: the warning, and 4 more failed attempts of flap.
        time.sleep(3.0)
        daemon.wait_for(r"^control: cannot accept connections", since=window, timeout=20)
        daemon.wait_for(r"^flap: starting -> backoff \(%s" % reason, since=window, count=4,
                        timeout=20)
        # Not a CPU budget (that is bench/'s): only a busy loop uses 90% of a core.
        share = spin.share()
        print("manager CPU: %.1f%% of a core" % (share * 100))
        self.assertLess(share, 0.9, "the manager spins")
        self.assertIsNone(waiting.poll(), "the client did not wait")
        new = daemon.find(r".", since=window)
        elapsed = time.monotonic() - began
        [warning] = [l for l in new if l.split()[2] == "warning"]
        self.assertEqual(e2e.line_message(warning),
                         "control: cannot accept connections: too many open files; trying "
                         "again every second, clients wait (at most one such warning a minute)")
        # Besides it, two lines per attempt of flap (-> starting, -> backoff), one attempt
        # every 0.5 s at most over the window as it really lasted: the backoff's lower bound,
        # which a slow machine only makes easier to meet.
        attempts = [l for l in new if l != warning]
        self.assertLessEqual(len(attempts), 2 * (elapsed / 0.5 + 1), "\n".join(new))
        for line in attempts:
            self.assertRegex(e2e.line_message(line),
                             r"^flap: (backoff -> starting \(restart \d+\)|starting -> backoff "
                             r"\(%s)" % reason)
        self.assertTrue(daemon.running())
        self.assertTrue(e2e.alive(steady))
        self.assertEqual(severe(daemon.lines[since:]), [])

        # Descriptors back: the waiting client is answered, the next attempt runs.
        resource.prlimit(daemon.pid, resource.RLIMIT_NOFILE, (soft, hard))
        out, err = waiting.communicate(timeout=10)
        self.assertEqual(waiting.returncode, 0, err)
        self.assertEqual({p["name"] for p in json.loads(out)["programs"]}, {"flap", "steady"})
        daemon.wait_for(r"^flap: starting -> running ", since=since, timeout=20)
        result = self.ctl("status", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        states = {p["name"]: p["state"] for p in json.loads(result.stdout)["programs"]}
        self.assertEqual(states, {"flap": "running", "steady": "running"})
        self.assertEqual(len(self.started_procs("flap")), 1)
        self.assertEqual(self.cgroups.live_procs("steady"), [steady[0]])
        self.assertEqual(len(daemon.find(r"^control: cannot accept")), 1)
        self.assertEqual(daemon.stop()[0], 0)
        self.assertEqual(self.cgroups.program_dirs(), [])


if __name__ == "__main__":
    e2e.main()
