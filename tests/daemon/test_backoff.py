"""The seed scenario and the restart policies.

- `leaky 8 20` under `memory: {max: 32M, swap_max: 0}` with `policy: on-oom` and backoff
  100ms x2 up to 400ms, no jitter: it is OOM-killed again and again; each kill is logged as
  "oom-killed ... restarting in" 100ms, 200ms, 400ms, 400ms, and the backoff really lasts that
  long (the "-> backoff" line and the next "backoff -> starting" line): never shorter; longer
  only by what a busy machine adds, bounded only against a timer gone wrong (seconds late);
- `policy: on-failure`: `exit 0` stays down in `exited`, `exit 3` is restarted.
"""

import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402


class BackoffTest(e2e.DaemonTest):

    def test_seed_scenario_oom_backoff(self):
        programs = {
            "leaky": {"command": [e2e.LEAKY, "8", "20"],
                      "memory": {"max": "32M", "swap_max": 0},
                      "restart": {"policy": "on-oom",
                                  "backoff": {"initial": "100ms", "max": "400ms", "factor": 2,
                                              "jitter": 0},
                                  "reset_after": "60s",
                                  "limit": {"burst": 100, "interval": "60s"}},
                      "stdout": {"file": "null"}},
        }
        daemon = self.daemon(self.write_config(programs), address_space=2 << 30)
        expected = [100, 200, 400, 400, 400]
        backoffs = daemon.wait_for(r"^leaky: \w+ -> backoff ", count=len(expected), timeout=60)
        # The start after the last backoff, so that every backoff has its end.
        daemon.wait_for(r"^leaky: backoff -> starting ", count=len(expected), timeout=20)
        status, _ = daemon.stop(signal.SIGTERM, timeout=30)
        self.assertEqual(status, 0, daemon.tail())

        # Its transitions: the OOM lines (once a second at most) may fall between them.
        lines = [l for l in daemon.find(r"^leaky: ") if not re.search(r"OOM.kill", l)]
        print("\n".join(e2e.line_message(l) for l in lines[:2 * len(expected) + 1]))
        for n, want in enumerate(expected):
            line = backoffs[n]
            message = e2e.line_message(line)
            self.assertRegex(message, r"\(pid \d+ oom-killed after ")
            m = re.search(r"restarting in (\S+) \(attempt (\d+)\)\)$", message)
            self.assertTrue(m, message)
            self.assertEqual(e2e.parse_duration(m.group(1)), want, message)
            self.assertEqual(int(m.group(2)), n + 1, message)
            # The very next transition of this program ends the backoff, after the delay.
            after = lines[lines.index(line) + 1]
            self.assertRegex(e2e.line_message(after),
                             r"^leaky: backoff -> starting \(restart %d\)$" % (n + 1))
            waited = (e2e.line_time(after) - e2e.line_time(line)) * 1000
            print("backoff %d: wanted %dms, waited %.0fms" % (n + 1, want, waited))
            # ms-resolution timestamps, and the timer counts from the loop's cached time, which
            # can be a little older than the "-> backoff" line: some slack below. Above, how
            # late the restart comes is machine speed (a loaded or sanitized run adds tens or
            # hundreds of ms): only a bound seconds wide, that a timer armed with the wrong
            # delay or never fired fails.
            self.assertGreaterEqual(waited, want - 20, message)
            self.assertLessEqual(waited, want + 5000, message)
        # Each OOM kill is also seen by the cgroup's OOM watcher, and logged: the first at once,
        # those less than a second after a line together, a second after it (or at shutdown).
        def logged_kills():
            total = 0
            for line in daemon.find(r"^leaky: (the kernel OOM-killed \d+ process|\d+ more OOM "
                                    r"kill)"):
                self.assertIn("(limit 32M", line)
                total += int(re.search(r"(\d+) (process|more)", line).group(1))
            return total
        self.assertGreaterEqual(logged_kills(), len(expected))
        for line in daemon.find(r"^leaky: \w+ -> (backoff|exited|fatal) "):
            self.assertIn("-> backoff (pid", line)
            self.assertIn(" oom-killed after ", line,
                          "a run ended without being classified as an OOM kill")

    def test_on_failure_policy(self):
        restart = {"policy": "on-failure",
                   "backoff": {"initial": "50ms", "max": "50ms", "jitter": 0},
                   "limit": {"burst": 2, "interval": "60s"}}
        programs = {
            "clean": {"command": ["sh", "-c", "exit 0"], "restart": restart},
            "failing": {"command": ["sh", "-c", "exit 3"], "restart": restart},
            "killed": {"command": ["sh", "-c", "kill -USR1 $$"], "restart": restart},
        }
        daemon = self.daemon(self.write_config(programs))
        [done] = daemon.wait_for(r"^clean: \w+ -> exited ")
        self.assertRegex(e2e.line_message(done),
                         r"exited 0 after .*; the restart policy \(on-failure\) leaves it down\)$")
        [fatal] = daemon.wait_for(r"^failing: \w+ -> fatal ", timeout=20)
        self.assertRegex(e2e.line_message(fatal), r"exited 3 after .*giving up")
        restarts = daemon.find(r"^failing: \w+ -> backoff ")
        self.assertEqual(len(restarts), 2)
        for line in restarts:
            self.assertRegex(e2e.line_message(line), r"exited 3 after .*restarting in 50ms")
        # A signal is a failure too.
        daemon.wait_for(r"^killed: \w+ -> fatal ", timeout=20)
        self.assertEqual(len(daemon.find(r"^killed: \w+ -> backoff \(pid \d+ signal SIGUSR1 ")),
                         2)
        time.sleep(0.5)
        self.assertEqual(len(daemon.find(r"^clean: ")), 2, "the clean exit was restarted")
        self.assertEqual(len(daemon.find(r"^failing: \w+ -> starting ")), 3)
        status, _ = daemon.stop(signal.SIGTERM, timeout=30)
        self.assertEqual(status, 0, daemon.tail())
        self.assertEqual(len(daemon.find(r"^clean: exited -> stopped \(shutdown\)$")), 1)


if __name__ == "__main__":
    e2e.main()
