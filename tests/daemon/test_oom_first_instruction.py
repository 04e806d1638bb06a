"""A program that allocates far above its limit right at start (`leaky 256 0` under 32M) is
inside its cgroup before its first instruction, so it is OOM-killed there: the log says
oom-killed, and the program cgroup's own OOM counter (memory.oom_control oom_kill, read while
the cgroup still exists) counts the kill."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402


class OomAtStartTest(e2e.DaemonTest):

    def test_oom_in_own_cgroup(self):
        programs = {
            "hog": {"command": [e2e.LEAKY, "256", "0"],
                    "memory": {"max": "32M", "swap_max": 0},
                    "restart": {"policy": "never"},
                    "stdout": {"file": "null"}},
            # A neighbour in the same root: its counter must stay at zero.
            "calm": {"command": ["sleep", e2e.unique_marker()], "memory": {"max": "32M"},
                     "start": {"settle": "100ms"}},
        }
        daemon = self.daemon(self.write_config(programs), address_space=2 << 30)
        [line] = daemon.wait_for(r"^hog: \w+ -> exited ", timeout=30)
        self.assertRegex(e2e.line_message(line), r"\(pid \d+ oom-killed after .*the restart "
                                                 r"policy \(never\) leaves it down\)$")
        daemon.wait_for(r"^hog: the kernel OOM-killed 1 process in its cgroup \(limit 32M",
                        timeout=10)
        self.wait_running(daemon, ["calm"])

        # Read the counters before shutdown, while the cgroups exist.
        hog = self.cgroups.program("hog")
        kills = e2e.read_keyed(hog + "/memory.oom_control", "oom_kill")
        with open(hog + "/memory.max_usage_in_bytes") as f:
            peak = int(f.read())
        with open(hog + "/memory.failcnt") as f:
            failcnt = int(f.read())
        calm_kills = e2e.read_keyed(self.cgroups.program("calm") + "/memory.oom_control",
                                    "oom_kill")
        root_kills = e2e.read_keyed(self.cgroups.memory + "/memory.oom_control", "oom_kill")
        print("program-hog: oom_kill %d, peak %d bytes, failcnt %d; program-calm oom_kill %d; "
              "root oom_kill %d" % (kills, peak, failcnt, calm_kills, root_kills))
        self.assertGreaterEqual(kills, 1)
        # The memory was charged to the program's own cgroup, up to its limit.
        self.assertGreaterEqual(peak, 24 << 20)
        self.assertLessEqual(peak, 32 << 20)
        self.assertEqual(calm_kills, 0)
        self.assertEqual(self.cgroups.live_procs("hog"), [])

        status, _ = daemon.stop(signal.SIGTERM, timeout=30)
        self.assertEqual(status, 0, daemon.tail())
        self.assertEqual(self.cgroups.program_dirs(), [])


if __name__ == "__main__":
    e2e.main()
