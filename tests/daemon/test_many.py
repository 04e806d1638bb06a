"""500 programs: all start (every pid in its cgroup within 60 s), and one SIGTERM stops them
all, exit 0, with no cgroup left. Prints the times."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

COUNT = 500


class ManyProgramsTest(e2e.DaemonTest):

    def test_500_programs(self):
        marker = e2e.unique_marker()
        names = ["p%03d" % i for i in range(COUNT)]
        defaults = {"command": ["sleep", marker], "memory": {"max": "64M"},
                    "stdout": {"file": "null"}, "stderr": {"file": "null"},
                    "start": {"settle": 0}}
        programs = {name: {} for name in names}
        daemon = self.daemon(self.write_config(programs, defaults=defaults))
        began = daemon.started_at

        pending = set(names)
        pids = {}

        def all_started():
            for name in list(pending):
                procs = self.started_procs(name)
                if procs:
                    pids[name] = procs
                    pending.discard(name)
            return not pending
        e2e.wait_until(all_started, 60, lambda: "%d programs with a process in their cgroup "
                       "(%d missing)" % (COUNT, len(pending)), interval=0.1)
        in_cgroups = time.monotonic() - began
        daemon.wait_for(r"^p\d{3}: starting -> running ", count=COUNT, timeout=60)
        all_running = time.monotonic() - began
        daemon.wait_for(r"^started: ", timeout=10)
        print("launch -> %d pids in their cgroups: %.2fs; -> all running (log): %.2fs"
              % (COUNT, in_cgroups, all_running))

        # One process each, `sleep MARKER`, each in its own cgroup and nowhere else.
        for name in names:
            self.assertEqual(len(pids[name]), 1, "%s: %s" % (name, pids[name]))
            self.assertEqual(e2e.cmdline(pids[name][0]), ["sleep", marker])
        all_pids = [p[0] for p in pids.values()]
        self.assertEqual(len(set(all_pids)), COUNT)
        self.assertEqual(sorted(e2e.pids_with_cmdline(["sleep", marker])), sorted(all_pids))
        self.assertEqual(len(self.cgroups.program_dirs()), 2 * COUNT)
        self.assertEqual(daemon.find(r"-> (backoff|exited|fatal) "), [])
        with open("/proc/%d/status" % daemon.pid) as f:
            rss = [l.split()[1] for l in f if l.startswith("VmRSS:")][0]
        print("manager RSS with %d programs: %s KiB; %d fds"
              % (COUNT, rss, e2e.fd_count(daemon.pid)))

        idents = [e2e.identity(p) for p in all_pids]
        status, seconds = daemon.stop(signal.SIGTERM, timeout=90)
        print("SIGTERM -> exit: %.2fs" % seconds)
        self.assertEqual(status, 0, daemon.tail())
        self.assertEqual(len(daemon.find(r"^p\d{3}: running -> stopping \(shutdown\)$")), COUNT)
        self.assertEqual(len(daemon.find(r"^p\d{3}: stopping -> stopped ")), COUNT)
        daemon.wait_for(r"^clean shutdown$", timeout=1, allow_exit=True)
        self.assert_all_gone(idents)
        self.assertEqual(e2e.pids_with_cmdline(["sleep", marker]), [])
        self.assertEqual(self.cgroups.program_dirs(), [])


if __name__ == "__main__":
    e2e.main()
