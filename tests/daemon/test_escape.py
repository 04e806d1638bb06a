"""Children that escape (setsid + double fork: a new session, reparented away from the
program) stay in the program's cgroup and die with it:

- at stop: the main process dies on TERM, the daemonized grandchild is killed with the cgroup;
- before a restart: the main process exits while its daemonized child lives; the child is
  killed before the next start, so only one copy ever runs.
"""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

# A small python daemonizer as well: fork, setsid, fork again, the parent side exits at once.
PY_DAEMONIZE = r"""
import os, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", sys.argv[1]])
    os._exit(0)
os.wait()
os.execvp("sleep", ["sleep", sys.argv[2]])
"""


class EscapeTest(e2e.DaemonTest):

    def find_one(self, marker, timeout=10):
        """The one live process `sleep MARKER` (waits until it exists)."""
        pids = e2e.wait_until(lambda: e2e.pids_with_cmdline(["sleep", marker]), timeout,
                              "sleep %s" % marker)
        self.assertEqual(len(pids), 1, "sleep %s: %s" % (marker, pids))
        return pids[0]

    def assert_escaped(self, pid, program):
        """It really escaped: a session of its own, orphaned (its parent is no program process)."""
        procs = self.cgroups.live_procs(program)
        self.assertNotIn(e2e.ppid(pid), procs, "pid %d was not orphaned" % pid)
        sessions = {os.getsid(p) for p in procs if p != pid}
        self.assertTrue(sessions, "no other process in program-%s" % program)
        self.assertNotIn(os.getsid(pid), sessions, "pid %d kept its program's session" % pid)

    def test_escaped_children_die_at_stop(self):
        esc_sh, main_sh = e2e.unique_marker(), e2e.unique_marker()
        esc_py, main_py = e2e.unique_marker(), e2e.unique_marker()
        py = self.write_text("daemonize.py", PY_DAEMONIZE)
        programs = {
            "shell": {"command": ["sh", "-c",
                                  'setsid sh -c "sleep %s &"; sleep %s' % (esc_sh, main_sh)],
                      "start": {"settle": "200ms"}},
            "python": {"command": ["/usr/bin/python3", py, esc_py, main_py],
                       "start": {"settle": "200ms"}},
        }
        daemon = self.daemon(self.write_config(programs))
        self.wait_running(daemon, programs)
        idents = []
        for name, escaped in (("shell", esc_sh), ("python", esc_py)):
            pid = self.find_one(escaped)
            self.assert_escaped(pid, name)
            self.assertIn(pid, self.cgroups.procs(name), "the escaped child left the cgroup")
            self.assertIn(pid, self.cgroups.procs(name, "pids"))
            idents.append(e2e.identity(pid))
        for marker in (main_sh, main_py):
            idents.append(e2e.identity(self.find_one(marker)))

        # No bound on how long the stop takes (machine speed). What it stood for: the escaped
        # children die with their program when its main process ends on TERM, not at the
        # 10 s stop timeout (which would be logged as a kill of the cgroup).
        status, _ = daemon.stop(signal.SIGTERM, timeout=30)
        self.assertEqual(status, 0, daemon.tail())
        for name in programs:
            [stopped] = daemon.find(r"^%s: stopping -> stopped " % name)
            self.assertRegex(e2e.line_message(stopped), r"\(pid \d+ signal SIGTERM after ")
        self.assertEqual(daemon.find(r"killing its cgroup"), [])
        self.assert_all_gone(idents)
        for marker in (esc_sh, main_sh, esc_py, main_py):
            self.assertEqual(e2e.pids_with_cmdline(["sleep", marker]), [], marker)
        self.assertEqual(self.cgroups.program_dirs(), [])

    def test_escaped_child_dies_before_restart(self):
        marker = e2e.unique_marker()
        # Runs 1.5 s, leaves a daemonized child behind, and fails: restarted after 300ms.
        script = 'setsid sh -c "sleep %s &"; sleep 1.5; exit 1' % marker
        programs = {
            "leaver": {"command": ["sh", "-c", script], "start": {"settle": "200ms"},
                       "restart": {"policy": "on-failure",
                                   "backoff": {"initial": "300ms", "max": "300ms", "jitter": 0},
                                   "limit": {"burst": 100, "interval": "60s"}}},
        }
        daemon = self.daemon(self.write_config(programs))
        seen = []
        for run in range(1, 4):
            daemon.wait_for(r"^leaver: \w+ -> starting ", count=run)
            pid = e2e.wait_until(
                lambda: [p for p in e2e.pids_with_cmdline(["sleep", marker])
                         if e2e.identity(p) not in seen], 10, "run %d's daemonized child" % run)
            # Exactly one copy: the previous run's child is gone before this start.
            self.assertEqual(len(pid), 1, "run %d: copies of the child: %s" % (run, pid))
            ident = e2e.identity(pid[0])
            self.assertEqual(e2e.pids_with_cmdline(["sleep", marker]), [pid[0]])
            sleeps = [p for p in self.cgroups.live_procs("leaver")
                      if e2e.cmdline(p) == ["sleep", marker]]
            self.assertEqual(sleeps, [pid[0]], "run %d: cgroup.procs" % run)
            self.assert_escaped(pid[0], "leaver")
            seen.append(ident)
            # The run ends (exit 1 after 1.5 s); by the time the manager logs the exit, the
            # child must already be dead.
            [line] = daemon.wait_for(r"^leaver: \w+ -> backoff ", count=run, timeout=20)[-1:]
            self.assertRegex(e2e.line_message(line), r"exited 1 after .*restarting in 300ms")
            self.assertFalse(e2e.alive(ident), "run %d's daemonized child survived its exit" % run)
            self.assertEqual(e2e.pids_with_cmdline(["sleep", marker]), [])

        status, _ = daemon.stop(signal.SIGTERM, timeout=30)
        self.assertEqual(status, 0, daemon.tail())
        self.assertEqual(e2e.pids_with_cmdline(["sleep", marker]), [])
        self.assertEqual(self.cgroups.program_dirs(), [])


if __name__ == "__main__":
    e2e.main()
