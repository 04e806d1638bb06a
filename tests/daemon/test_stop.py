"""Graceful stop: stop.signal first, the cgroup killed only after stop.timeout.

- `graceful` traps TERM, writes a line to its stdout log file, and exits 0 after 0.3 s: it is
  stopped by the signal alone (exit 0, its trap output in the file, no kill);
- `stubborn` ignores TERM and has `stop: {timeout: 500ms}`: after ~0.5 s the manager kills its
  cgroup ("killing its cgroup") and it ends by SIGKILL.
"""

import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402


class StopTest(e2e.DaemonTest):

    def test_graceful_then_kill_after_timeout(self):
        out = os.path.join(self.dir, "graceful.out")
        graceful_script = (
            'trap "sleep 0.3; echo graceful-bye-$$; exit 0" TERM; '
            'echo graceful-ready-$$; '
            'while :; do sleep 0.05; done')
        # `trap "" TERM` is inherited by the sleeps: nothing in the cgroup dies on TERM.
        stubborn_script = 'trap "" TERM; echo stubborn-ready; while :; do sleep 0.05; done'
        programs = {
            "graceful": {"command": ["sh", "-c", graceful_script],
                         "stop": {"signal": "TERM", "timeout": "10s"},
                         "stdout": {"file": out}, "start": {"settle": "200ms"}},
            "stubborn": {"command": ["sh", "-c", stubborn_script],
                         "stop": {"timeout": "500ms"}, "start": {"settle": "200ms"}},
        }
        daemon = self.daemon(self.write_config(programs))
        self.wait_running(daemon, programs)
        e2e.wait_until(lambda: os.path.exists(out) and "graceful-ready" in open(out).read(), 10,
                       "graceful's first output")
        graceful_pid = int(re.search(r"graceful-ready-(\d+)", open(out).read()).group(1))
        self.assertIn(graceful_pid, self.cgroups.procs("graceful"))
        stubborn_idents = [e2e.identity(p) for p in self.cgroups.live_procs("stubborn")]

        # No bound on how long the shutdown takes (machine speed); that graceful was not left
        # to its 10 s stop timeout is the absence of its kill, below. The timeout only guards
        # against a hang.
        status, seconds = daemon.stop(signal.SIGTERM, timeout=30)
        print("exit %s after %.2fs" % (status, seconds))
        self.assertEqual(status, 0, daemon.tail())

        # graceful: TERM, the trap ran, exit 0, no kill.
        [g_stopping] = daemon.find(r"^graceful: running -> stopping \(shutdown\)$")
        [g_stopped] = daemon.find(r"^graceful: stopping -> stopped ")
        self.assertRegex(e2e.line_message(g_stopped), r"\(pid %d exited 0 after " % graceful_pid)
        took = e2e.line_time(g_stopped) - e2e.line_time(g_stopping)
        print("graceful stopped %.3fs after TERM" % took)
        self.assertGreaterEqual(took, 0.28, "graceful stopped before its trap could finish")
        # No upper bound: how soon after its trap the exit is seen is machine speed; that the
        # manager waited for it rather than killing it is this:
        self.assertEqual(daemon.find(r"^graceful: .*killing its cgroup"), [])
        text = open(out).read()
        self.assertIn("graceful-bye-%d" % graceful_pid, text, "trap output missing: %r" % text)

        # stubborn: TERM ignored, killed after 500ms, ends by SIGKILL.
        [s_stopping] = daemon.find(r"^stubborn: running -> stopping \(shutdown\)$")
        [s_kill] = daemon.find(r"^stubborn: stopping -> stopping \(still running 500ms after "
                               r"SIGTERM: killing its cgroup\)$")
        [s_stopped] = daemon.find(r"^stubborn: stopping -> stopped ")
        self.assertRegex(e2e.line_message(s_stopped), r"signal SIGKILL after ")
        waited = e2e.line_time(s_kill) - e2e.line_time(s_stopping)
        print("stubborn killed %.3fs after TERM" % waited)
        # Timers count from the loop's cached time, which may be a little older than the log
        # line's timestamp: a few ms of slack below. Never before stop.timeout; above it only
        # a bound so loose (5 s late) that machine speed cannot reach it and a timer that
        # never fired (or a unit mix-up) still fails it.
        self.assertGreaterEqual(waited, 0.47)
        self.assertLess(waited, 0.5 + 5.0)
        self.assertLessEqual(e2e.line_time(s_kill), e2e.line_time(s_stopped))
        self.assert_all_gone([i for i in stubborn_idents if i])
        self.assertEqual(self.cgroups.program_dirs(), [])
        daemon.wait_for(r"^clean shutdown$", timeout=1, allow_exit=True)


    def test_second_signal_kills_at_once(self):
        """A second SIGTERM during a slow graceful stop kills everything now."""
        marker = e2e.unique_marker()
        programs = {
            "slow": {"command": ["sh", "-c", 'trap "" TERM; exec sleep %s' % marker],
                     "stop": {"timeout": "30s"}, "start": {"settle": "100ms"}},
        }
        daemon = self.daemon(self.write_config(programs))
        [pid] = self.wait_running(daemon, programs)["slow"]
        ident = e2e.identity(pid)
        began = time.monotonic()
        daemon.send(signal.SIGTERM)
        daemon.wait_for(r"^slow: running -> stopping \(shutdown\)$")
        time.sleep(0.3)
        self.assertTrue(daemon.running(), "the manager did not wait for the stop timeout")
        self.assertTrue(e2e.alive(ident))
        daemon.send(signal.SIGTERM)
        status = daemon.wait_exit(25)
        seconds = time.monotonic() - began
        print("second SIGTERM: exit %s %.2fs after the first" % (status, seconds))
        self.assertEqual(status, 0, daemon.tail())
        # "At once" means before the 30 s stop timeout, which a manager that ignored the second
        # signal would wait for (and then say so); how much sooner is machine speed.
        self.assertLess(seconds, 30.0)
        self.assertEqual(daemon.find(r"^slow: .*still running .* killing its cgroup"), [])
        daemon.wait_for(r"second shutdown request", timeout=1, allow_exit=True)
        self.assertFalse(e2e.alive(ident))
        self.assertEqual(e2e.pids_with_cmdline(["sleep", marker]), [])
        self.assertEqual(self.cgroups.program_dirs(), [])

if __name__ == "__main__":
    e2e.main()
