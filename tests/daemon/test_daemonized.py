"""A program whose main process exits 0 during its settle time while other processes stay in
its cgroup has daemonized: the log says so and how to run it in the foreground, before the
run ends (and its leftovers are killed, as for every run). A program that exits 0 alone is
not told that."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

WARNING = r"its main process exited 0 during its settle time and left (\d+) process"


class DaemonizedTest(e2e.DaemonTest):

    def test_a_daemonizing_program_is_named_and_told_how_to_stay(self):
        marker = e2e.unique_marker()
        # A settle time nothing here comes near: the exits fall inside it on any machine.
        settle = {"settle": "60s"}
        # sh under the name of a known daemon: the hint names that daemon's own option.
        redis = os.path.join(self.dir, "redis-server")
        os.symlink("/bin/sh", redis)
        programs = {
            "forks": {"command": ["sh", "-c", "sleep %s & exit 0" % marker], "start": settle},
            "redis": {"command": [redis, "-c", "sleep %s & exit 0" % marker], "start": settle},
            "alone": {"command": ["sh", "-c", "exit 0"], "start": settle},
        }
        daemon = self.daemon(self.write_config(programs))
        for name in programs:
            daemon.wait_for(r"^%s: starting -> exited \(pid \d+ exited 0 " % name)

        [forks] = daemon.find(r"^forks: its main process")
        self.assertEqual(
            e2e.line_message(forks),
            "forks: its main process exited 0 during its settle time and left 1 process in its "
            "cgroup: it probably daemonized; run it in the foreground (its option for that is "
            "often called --foreground, --nodaemon or --no-daemonize)")
        [redis_line] = daemon.find(r"^redis: its main process")
        self.assertRegex(e2e.line_message(redis_line),
                         WARNING + r".*\(for example redis-server --daemonize no\)$")
        # Said before the transition it explains.
        lines = daemon.find(r"^forks: ")
        self.assertIn("probably daemonized", e2e.line_message(lines[-2]), "\n".join(lines))
        self.assertEqual(daemon.find(r"^alone: .*daemonized"), [])

        # What it left behind was killed with the run.
        for name in ("forks", "redis"):
            e2e.wait_until(lambda: self.cgroups.live_procs(name) == [], 20,
                           "%s's cgroup emptied" % name)
        self.assertEqual(e2e.pids_with_cmdline(["sleep", marker]), [])
        self.assertEqual(daemon.stop()[0], 0)


if __name__ == "__main__":
    e2e.main()
