"""A manager killed with SIGKILL leaves its programs running in their cgroups. The next
manager with the same config and root removes those cgroups first ("removed cgroup ... left
by a manager that did not shut down cleanly"), killing the orphans, and then runs exactly one
copy of each program."""

import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402


class CrashRecoveryTest(e2e.DaemonTest):

    def test_sigkill_then_restart(self):
        alpha, beta, beta_child = e2e.unique_marker(), e2e.unique_marker(), e2e.unique_marker()
        programs = {
            "alpha": {"command": ["sleep", alpha], "memory": {"max": "32M"},
                      "start": {"settle": "200ms"}},
            # Two processes, one of them daemonized: all must be killed as orphans.
            "beta": {"command": ["sh", "-c", 'setsid sh -c "sleep %s &"; exec sleep %s'
                                 % (beta_child, beta)],
                     "start": {"settle": "200ms"}},
        }
        markers = (alpha, beta, beta_child)
        config = self.write_config(programs)
        first = self.daemon(config, tag="first")
        self.wait_running(first, programs)
        old = {}
        for marker in markers:
            pids = e2e.wait_until(lambda: e2e.pids_with_cmdline(["sleep", marker]), 10, marker)
            self.assertEqual(len(pids), 1, "sleep %s: %s" % (marker, pids))
            old[marker] = e2e.identity(pids[0])
        alpha_procs = self.cgroups.live_procs("alpha")
        beta_procs = self.cgroups.live_procs("beta")
        self.assertEqual(len(beta_procs), 2, beta_procs)

        first.proc.kill()
        first.wait_exit(10)
        time.sleep(0.2)
        # The programs outlive the manager, still in their cgroups.
        for marker, ident in old.items():
            self.assertTrue(e2e.alive(ident), "sleep %s died with the manager" % marker)
        self.assertEqual(self.cgroups.live_procs("alpha"), alpha_procs)
        self.assertEqual(sorted(self.cgroups.live_procs("beta")), sorted(beta_procs))
        self.assertEqual(len(self.cgroups.program_dirs()), 4)

        second = self.daemon(config, tag="second")
        removed = {}
        for name, count in (("alpha", 1), ("beta", 2)):
            [line] = second.wait_for(r"^removed cgroup \S+/program-%s left by a manager that did "
                                     r"not shut down cleanly" % name)
            removed[name] = line
            self.assertIn(self.cgroups.program(name), line)
            self.assertRegex(e2e.line_message(line),
                             r"\(%d process(es)? killed\)$" % count)
        # The old cgroups were cleared before anything started.
        first_start = second.wait_for(r"-> starting ")[0]
        for line in removed.values():
            self.assertLess(second.lines.index(line), second.lines.index(first_start))
        self.wait_running(second, programs)
        for marker, ident in old.items():
            self.assertFalse(e2e.alive(ident), "the orphan sleep %s survived" % marker)
        # Exactly one copy of each program process on the whole system, the new one.
        for marker in markers:
            pids = e2e.wait_until(lambda: e2e.pids_with_cmdline(["sleep", marker]), 10, marker)
            time.sleep(0.1)
            pids = e2e.pids_with_cmdline(["sleep", marker])
            self.assertEqual(len(pids), 1, "sleep %s: %s" % (marker, pids))
            self.assertNotEqual(e2e.identity(pids[0]), old[marker])
        self.assertEqual(len(self.cgroups.live_procs("alpha")), 1)
        self.assertEqual(len(self.cgroups.live_procs("beta")), 2)
        self.assertEqual(second.find(r"cannot remove"), [])

        status, _ = second.stop(signal.SIGTERM, timeout=30)
        self.assertEqual(status, 0, second.tail())
        for marker in markers:
            self.assertEqual(e2e.pids_with_cmdline(["sleep", marker]), [])
        self.assertEqual(self.cgroups.program_dirs(), [])

    def test_second_manager_on_the_same_root_is_refused(self):
        # Two managers, same cgroup root, different sockets: the second must not take the
        # first one's live programs for a crash's leftovers.
        programs = {"shared": {"command": ["sleep", "1000"], "start": {"settle": "50ms"},
                               "stdout": {"file": "null"}, "stderr": {"file": "null"}}}
        first = self.daemon(self.write_config(programs, name="a.yaml"), tag="first")
        before = self.wait_running(first, programs)
        other = self.write_config(programs, name="b.yaml",
                                  control_socket=os.path.join(self.dir, "b.sock"))
        second = self.daemon(other, tag="second")
        self.assertEqual(second.wait_exit(timeout=20), 2, second.tail())
        second.wait_for(r"another climits-manager already uses the cgroup root", allow_exit=True)
        self.assertEqual(second.find(r"removed cgroup"), [])
        self.assertEqual(self.cgroups.live_procs("shared"), before["shared"])
        self.assertEqual(first.find(r"-> backoff"), [])
        self.assertEqual(first.stop()[0], 0)

    def test_clean_shutdown_leaves_nothing_to_clear(self):
        """The counterpart: after a clean shutdown the next start finds nothing stale."""
        programs = {"solo": {"command": ["sleep", e2e.unique_marker()],
                             "start": {"settle": "100ms"}}}
        config = self.write_config(programs)
        first = self.daemon(config, tag="first")
        self.wait_running(first, programs)
        self.assertEqual(first.stop(signal.SIGTERM)[0], 0)
        second = self.daemon(config, tag="second")
        self.wait_running(second, programs)
        self.assertEqual(second.find(r"left by a manager"), [])
        self.assertEqual(second.stop(signal.SIGTERM)[0], 0)


if __name__ == "__main__":
    e2e.main()
