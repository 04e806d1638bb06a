"""Spawn errors (the helper cannot exec the program) are failures with a clear reason: each
start logs "spawn error: <reason>", goes through backoff, and after limit.burst restarts the
program is `fatal`. The manager stays up and a healthy program beside them is untouched."""

import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

BURST = 3


class SpawnErrorTest(e2e.DaemonTest):

    def test_spawn_errors_end_in_fatal(self):
        self.write_text("not-executable", "#!/bin/sh\nexit 0\n", mode=0o644)
        missing_dir = os.path.join(self.dir, "no", "such", "dir")
        restart = {"policy": "on-failure", "backoff": {"initial": "50ms", "max": "100ms"},
                   "limit": {"burst": BURST, "interval": "60s"}}
        healthy_marker = e2e.unique_marker()
        broken = {
            "missing": ({"command": ["./nope"]},
                        r"spawn error: %s: No such file or directory"
                        % re.escape(os.path.join(self.dir, "nope"))),
            "noexec": ({"command": ["./not-executable"]},
                       r"spawn error: %s: Permission denied"
                       % re.escape(os.path.join(self.dir, "not-executable"))),
            "baddir": ({"command": ["sleep", "1000"], "directory": missing_dir},
                       r"spawn error: changing directory to %s: No such file or directory"
                       % re.escape(missing_dir)),
        }
        programs = {"healthy": {"command": ["sleep", healthy_marker],
                                "start": {"settle": "100ms"}}}
        for name, (settings, _) in broken.items():
            programs[name] = dict(settings, restart=restart, start={"settle": "1s"})
        daemon = self.daemon(self.write_config(programs))
        [healthy_pid] = self.wait_running(daemon, ["healthy"])["healthy"]
        healthy = e2e.identity(healthy_pid)

        for name, (_, reason) in broken.items():
            [fatal] = daemon.wait_for(r"^%s: \w+ -> fatal " % name, timeout=20)
            self.assertRegex(e2e.line_message(fatal), reason)
            self.assertRegex(e2e.line_message(fatal),
                             r"more than %d restarts within 1m: giving up" % BURST)
            lines = [l for l in daemon.find(r"^%s: " % name)]
            transitions = [e2e.transition(l)[1:3] for l in lines if e2e.transition(l)]
            expected = [("stopped", "starting")]
            for _ in range(BURST):
                expected += [("starting", "backoff"), ("backoff", "starting")]
            expected += [("starting", "fatal")]
            self.assertEqual(transitions, expected, "\n".join(lines))
            failures = [l for l in lines if "spawn error: " in l]
            self.assertEqual(len(failures), BURST + 1, "\n".join(lines))
            for line in failures:
                self.assertRegex(e2e.line_message(line), reason)
            for line in [l for l in lines if "-> backoff" in l]:
                self.assertRegex(e2e.line_message(line), r"restarting in \d+ms \(attempt \d\)")
            # Nothing of it runs: its cgroup is empty.
            self.assertEqual(self.cgroups.live_procs(name), [])

        # No more starts once fatal.
        time.sleep(0.5)
        for name in broken:
            self.assertEqual(len(daemon.find(r"^%s: \w+ -> starting " % name)), BURST + 1)
        self.assertTrue(daemon.running(), "the manager died:\n" + daemon.tail())
        self.assertTrue(e2e.alive(healthy), "the healthy program died")
        self.assertEqual(self.cgroups.live_procs("healthy"), [healthy_pid])
        self.assertEqual(len(daemon.find(r"^healthy: ")), 2, "healthy changed state")

        status, _ = daemon.stop(signal.SIGTERM, timeout=30)
        self.assertEqual(status, 0, daemon.tail())
        for name in broken:
            self.assertEqual(len(daemon.find(r"^%s: fatal -> stopped \(shutdown\)$" % name)), 1)
        self.assertEqual(self.cgroups.program_dirs(), [])


if __name__ == "__main__":
    e2e.main()
