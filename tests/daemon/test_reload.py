"""Reload through SIGHUP on the real daemon (docs/reload.md), 24 programs:

- unchanged programs keep their PIDs; a limit-only change is visible in the cgroup file with
  the same PID; a command change gives a new PID; added and removed programs;
- an invalid file, and a missing file, change nothing (every error logged);
- a burst of 10 SIGHUPs while stops are in progress converges on the last file, one copy each.
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

COUNT = 24


def sleeper(seconds="1000", max_memory="64M", **extra):
    program = {"command": ["sleep", seconds], "memory": {"max": max_memory, "swap_max": 0},
               "start": {"settle": "50ms"}, "stop": {"timeout": "2s"},
               "stdout": {"file": "null"}, "stderr": {"file": "null"}}
    program.update(extra)
    return program


def limit_of(cgroups, name):
    return int(open(os.path.join(cgroups.program(name), "memory.limit_in_bytes")).read())


class ReloadTest(e2e.DaemonTest):

    def programs(self, changes=None):
        programs = {"p%02d" % i: sleeper() for i in range(COUNT)}
        programs.update(changes or {})
        return {name: p for name, p in programs.items() if p is not None}

    def pids(self, names):
        return {name: self.cgroups.live_procs(name) for name in names}

    def test_only_the_difference_is_applied(self):
        config = self.write_config(self.programs())
        daemon = self.daemon(config)
        before = self.wait_running(daemon, self.programs(), timeout=60)
        self.assertTrue(all(len(p) == 1 for p in before.values()), before)
        self.write_config(self.programs({"p03": sleeper(max_memory="128M"),    # limits only
                                         "p07": sleeper(seconds="2000"),      # command
                                         "p11": None,                         # removed
                                         "extra": sleeper()}))                # added
        removed_cgroup = self.cgroups.program("p11")
        daemon.send(signal.SIGHUP)
        daemon.wait_for(r"reload: 1 added, 1 removed, 1 restarted, 1 updated live, 21 unchanged")
        daemon.wait_for(r"^p07: \w+ -> running ", count=2, timeout=20)
        daemon.wait_for(r"^extra: \w+ -> running ", timeout=20)
        e2e.wait_until(lambda: not os.path.exists(removed_cgroup), 20, "p11's cgroup removed")
        after = self.pids([n for n in before if n != "p11"] + ["extra"])
        for name in before:
            if name in ("p07", "p11"):
                continue
            self.assertEqual(after[name], before[name], name)
        self.assertEqual(limit_of(self.cgroups, "p03"), 128 << 20)
        self.assertNotEqual(after["p07"], before["p07"])
        self.assertEqual(len(after["p07"]), 1)
        self.assertEqual(e2e.cmdline(after["p07"][0]), ["sleep", "2000"])
        self.assertEqual(len(after["extra"]), 1)
        self.assertEqual(daemon.stop()[0], 0)

    def test_invalid_or_missing_file_changes_nothing(self):
        config = self.write_config(self.programs())
        daemon = self.daemon(config)
        before = self.wait_running(daemon, self.programs(), timeout=60)
        with open(config, "w") as f:
            f.write("version: 1\nprograms:\n  p00:\n    command: [sleep]\n    memory: {max: 60Q}\n"
                    "    autostart: maybe\n")
        daemon.send(signal.SIGHUP)
        daemon.wait_for(r"reload: configuration not valid \(2 errors\); the running "
                        r"configuration stays")
        daemon.wait_for(r'programs\.p00\.memory\.max: "60Q" is not a size')
        daemon.wait_for(r'programs\.p00\.autostart: "maybe" is not a boolean')
        os.unlink(config)
        daemon.send(signal.SIGHUP)
        daemon.wait_for(r"cannot read the configuration: No such file or directory")
        # Unreadable (root reads any mode, so: a directory where the file was).
        os.mkdir(config)
        daemon.send(signal.SIGHUP)
        daemon.wait_for(r"cannot read the configuration: Is a directory")
        os.rmdir(config)
        time.sleep(0.3)
        self.assertEqual(self.pids(before), before)
        self.assertEqual(daemon.find(r" -> stopping "), [])
        self.assertEqual(daemon.stop()[0], 0)

    def test_sighup_burst_converges(self):
        def slow(version):
            # Takes 300 ms to stop, so that reloads land while stops are in progress.
            return {"command": ["sh", "-c", "trap 'sleep 0.3; exit 0' TERM; : v%d; "
                                            "while :; do sleep 0.05; done" % version],
                    "start": {"settle": "50ms"}, "stop": {"timeout": "5s"},
                    "stdout": {"file": "null"}, "stderr": {"file": "null"}}

        def programs(version):
            chosen = {"steady": sleeper(), "changing": slow(version)}
            if version % 2 == 0:
                chosen["coming-and-going"] = slow(version)
            return chosen

        config = self.write_config(programs(0))
        daemon = self.daemon(config)
        before = self.wait_running(daemon, programs(0))
        for version in range(1, 11):
            self.write_config(programs(version))
            daemon.send(signal.SIGHUP)
            time.sleep(0.03)
        daemon.wait_for(r"^reload: ", count=10, timeout=30)

        def settled():
            counts = {n: len(self.cgroups.live_procs(n)) for n in programs(10)}
            return all(c >= 1 for c in counts.values())
        e2e.wait_until(settled, 30, "every program running again")
        time.sleep(1.0)  # anything still pending would show now
        for name in programs(10):
            procs = self.cgroups.live_procs(name)
            if name == "steady":
                self.assertEqual(procs, before["steady"])
            else:
                # sh and its current `sleep 0.05` (between two sleeps the shell is alone):
                # one copy. Between its fork and its exec, that child still reads as `sh`:
                # a shell whose parent is in the cgroup is that child, not a second copy.
                self.assertIn(len(procs), (1, 2), "%s: %s" % (name, procs))
                shells = [p for p in procs if e2e.cmdline(p)[:1] == ["sh"]
                          and e2e.ppid(p) not in procs]
                self.assertEqual(len(shells), 1, name)
                self.assertIn(": v10;", " ".join(e2e.cmdline(shells[0])), name)
        self.assertEqual(daemon.stop()[0], 0)


if __name__ == "__main__":
    e2e.main()
