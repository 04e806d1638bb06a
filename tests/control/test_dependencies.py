"""depends_on end to end, with real processes: a program waits (state `waiting`, `waiting_for`
in status --json and in the detail view) until its dependencies hold, in the order the
conditions say; `climits-ctl start` brings the dependencies and names them; `climits-ctl stop`
stops the dependents first and names them; shutdown goes in reverse dependency order; a
reload that changes only depends_on restarts nothing."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import e2e  # noqa: E402


class DependenciesTest(harness.ControlTest):

    def programs(self, flag, marker, worker_needs=("web",)):
        sleeper = lambda: {"command": ["sleep", marker], "start": {"settle": "200ms"},
                           "stop": {"timeout": "5s"}}
        return {
            "db": sleeper(),
            # A one-shot job that finishes only when the test says so: `web` waits for it.
            "migrate": {"command": ["sh", "-c", "while [ ! -e %s ]; do sleep 0.05; done" % flag],
                        "restart": {"policy": "never"}, "start": {"settle": "0s"}},
            "web": dict(sleeper(), depends_on={"db": "ready",
                                               "migrate": {"condition": "succeeded"}}),
            "worker": dict(sleeper(), depends_on=list(worker_needs)),
            "lone": sleeper(),
        }

    def order_of(self, daemon, patterns, since=0):
        """The log line index of each pattern's first match from `since` (waited for)."""
        indices = []
        for pattern in patterns:
            daemon.wait_for(pattern, since=since, allow_exit=True)
            indices.append(next(i for i in range(since, len(daemon.lines))
                                if re.search(pattern, e2e.line_message(daemon.lines[i]))))
        return indices

    def test_waiting_start_order_stop_order_and_shutdown(self):
        flag = os.path.join(self.dir, "migrated")
        marker = e2e.unique_marker()
        config = self.write_config(self.programs(flag, marker))
        daemon = self.daemon(config)
        daemon.wait_for(r"^lone: starting -> running ")
        daemon.wait_for(r"^db: starting -> running ")

        # web waits for the job; worker (needs web started) waits for web.
        status = self.status()
        self.assertEqual(status["web"]["state"], "waiting", status["web"])
        self.assertEqual(status["web"]["waiting_for"], ["migrate"])
        self.assertIsNone(status["web"]["pid"])
        self.assertEqual(status["worker"]["state"], "waiting")
        self.assertEqual(status["worker"]["waiting_for"], ["web"])
        self.assertIsNone(status["db"]["waiting_for"])
        detail = self.assert_ctl_ok(self.ctl("status", "web")).stdout
        self.assertRegex(detail, r"waiting for:\s+migrate\n")
        table = self.assert_ctl_ok(self.ctl("status")).stdout
        self.assertRegex(table, r"(?m)^web\s+waiting\s")

        with open(flag, "w"):
            pass
        daemon.wait_for(r"^worker: starting -> running ")
        migrated, web_starts, worker_starts = self.order_of(daemon, [
            r"^migrate: running -> exited \(pid \d+ exited 0 ",
            r"^web: waiting -> starting \(migrate succeeded\)",
            r"^worker: waiting -> starting \(web started\)"])
        self.assertLess(migrated, web_starts)
        self.assertLess(web_starts, worker_starts)
        web_pid = self.status()["web"]["pid"]

        # Stopping db stops worker, then web, then db; the reply names them, dependents first.
        since = len(daemon.lines)
        stopped = self.assert_ctl_ok(self.ctl("stop", "db"))
        self.assertEqual([l.split(":")[0] for l in stopped.stdout.splitlines()],
                         ["worker", "web", "db"], stopped.stdout)
        worker_down, web_signal, web_down, db_signal = self.order_of(daemon, [
            r"^worker: stopping -> stopped ", r"^web: running -> stopping ",
            r"^web: stopping -> stopped ", r"^db: running -> stopping "], since)
        self.assertLess(worker_down, web_signal)
        self.assertLess(web_down, db_signal)
        self.assertEqual(self.status()["lone"]["state"], "running")

        # Starting worker brings web and db back (not the job: it succeeded already).
        started = self.assert_ctl_ok(self.ctl("start", "worker"))
        self.assertEqual([l.split(":")[0] for l in started.stdout.splitlines()],
                         ["db", "web", "worker"], started.stdout)
        self.assertEqual(self.status()["migrate"]["state"], "exited")
        self.assertNotEqual(self.status()["web"]["pid"], web_pid)

        # A reload that changes only depends_on restarts nothing.
        pids = {name: p["pid"] for name, p in self.status().items()}
        self.write_config(self.programs(flag, marker, worker_needs=("db",)))
        reloaded = self.assert_ctl_ok(self.ctl("reload"))
        self.assertIn("0 restarted", reloaded.stdout)
        self.assertEqual({name: p["pid"] for name, p in self.status().items()}, pids)

        # Shutdown: worker (which now needs only db) and web before db; lone at once.
        since = len(daemon.lines)
        daemon.stop()
        web_down, worker_down, db_signal = self.order_of(daemon, [
            r"^web: stopping -> stopped ", r"^worker: stopping -> stopped ",
            r"^db: running -> stopping "], since)
        self.assertLess(web_down, db_signal)
        self.assertLess(worker_down, db_signal)
        self.assertEqual(e2e.pids_with_cmdline(["sleep", marker]), [])


if __name__ == "__main__":
    harness.main()
