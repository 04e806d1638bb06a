"""`climits-ctl status NAME`, the detail view of one program: every status field, the cgroup,
desired and applied limits (a limit the kernel refused shows as pending), the output files,
and the last exits (kind, code or signal, time, run length), at most 10, newest first; the
same through `--json` as the status object with "history" (and "limits", "output") added,
while a status of several programs carries none of them."""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ISO_UTC = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
MIB = 1 << 20


def crashing(code, burst):
    """A program that exits `code` at once: started once and restarted `burst` times, then
    given up on (fatal), so it ends with burst + 1 exits."""
    return {"command": ["sh", "-c", "exit %d" % code], "start": {"settle": "1s"},
            "restart": {"policy": "on-failure",
                        "backoff": {"initial": "10ms", "max": "10ms", "jitter": 0},
                        "limit": {"burst": burst, "interval": "10m"}}}


class StatusDetailTest(harness.ControlTest):

    def wait_state(self, name, state):
        return harness.wait_until(
            lambda: self.status(name)[name] if self.status(name)[name]["state"] == state
            else None, 60, lambda: "%s to be %s: %s" % (name, state, self.status(name)[name]))

    def test_history_of_a_program_that_crashed_three_times(self):
        config = self.write_config({
            "crasher": crashing(3, 2),
            "flapper": crashing(1, 11),
            "web": {"command": ["sleep", "1000"], "memory": {"max": "64M"},
                    "pids_max": 100, "start": {"settle": "100ms"}},
        })
        self.daemon(config)
        self.wait_state("crasher", "fatal")
        self.wait_state("web", "running")

        result = self.assert_ctl_ok(self.ctl("status", "crasher"))
        view = result.stdout
        print(view)
        self.assertEqual(result.stderr, "")
        self.assertRegex(view, r"(?m)^program crasher$")
        self.assertRegex(view, r"(?m)^  state: +fatal$")
        self.assertRegex(view, r"(?m)^  pid: +-$")
        self.assertRegex(view, r"(?m)^  restarts: +2$")
        self.assertRegex(view, r"(?m)^  last exit: +exited 3 \([0-9dhms]+ ago\)$")
        self.assertRegex(view, r"(?m)^  cgroup: +%s$" % re.escape(self.cgroups.program("crasher")))
        self.assertRegex(view, r"(?m)^  stdout: +%s \(rotated at 10M, 5 kept\)$"
                         % re.escape(os.path.join(self.dir, "logs", "crasher.stdout.log")))
        history = view.split("\nhistory (newest first)\n", 1)[1].splitlines()
        self.assertEqual(history[0].split(), ["AT", "KIND", "CODE/SIGNAL", "RAN", "PID"])
        self.assertEqual(len(history), 4, view)
        for row in history[1:]:
            self.assertRegex(row, r"^  %s \([0-9dhms]+ ago\) +exited +3 +[0-9.dhms]+ +\d+$"
                             % ISO_UTC)

        # --json: the status object with history, newest first.
        result = self.assert_ctl_ok(self.ctl("status", "--json", "crasher"))
        program = json.loads(result.stdout)["programs"][0]
        table_keys = ["name", "state", "pid", "uptime_seconds", "memory_bytes",
                      "memory_peak_bytes", "memory_max_bytes", "restarts", "oom_kills",
                      "last_exit", "cgroup", "limits_pending"]
        self.assertEqual(list(program)[:len(table_keys)], table_keys)
        self.assertIn("history", program)
        self.assertEqual(len(program["history"]), 3)
        pids = set()
        for exit in program["history"]:
            self.assertEqual((exit["kind"], exit["code"], exit["signal"]), ("exited", 3, None))
            self.assertRegex(exit["at"], "^%s$" % ISO_UTC)
            self.assertEqual(exit["description"], "exited 3")
            self.assertIsInstance(exit["run_seconds"], (int, float))
            self.assertGreaterEqual(exit["run_seconds"], 0)
            self.assertIsInstance(exit["pid"], int)
            pids.add(exit["pid"])
        self.assertEqual(len(pids), 3, "three runs, three processes")
        ats = [exit["at"] for exit in program["history"]]
        self.assertEqual(ats, sorted(ats, reverse=True), "newest first")
        newest = program["history"][0]
        self.assertEqual(newest, {**program["last_exit"], "run_seconds": newest["run_seconds"],
                                  "pid": newest["pid"]})

        # At most the last 10: flapper ran 12 times.
        flapper = self.wait_state("flapper", "fatal")
        self.assertEqual(flapper["restarts"], 11)
        program = json.loads(self.assert_ctl_ok(
            self.ctl("status", "--json", "flapper")).stdout)["programs"][0]
        self.assertEqual(len(program["history"]), 10)
        self.assertEqual([e["code"] for e in program["history"]], [1] * 10)
        view = self.assert_ctl_ok(self.ctl("status", "flapper")).stdout
        self.assertEqual(len(view.split("\nhistory (newest first)\n", 1)[1].splitlines()), 11)

        # A running program that never exited: its limits, desired and applied alike.
        program = json.loads(self.assert_ctl_ok(
            self.ctl("status", "--json", "web")).stdout)["programs"][0]
        self.assertEqual(program["history"], [])
        self.assertEqual(program["limits"]["desired"], program["limits"]["applied"])
        self.assertEqual(program["limits"]["desired"]["memory_max_bytes"], 64 * MIB)
        self.assertEqual(program["limits"]["desired"]["pids_max"], 100)
        self.assertIsNone(program["limits"]["desired"]["memory_high_bytes"])
        self.assertEqual(program["output"]["stderr"]["target"], "file")
        view = self.assert_ctl_ok(self.ctl("status", "web")).stdout
        self.assertRegex(view, r"(?m)^  state: +running$")
        self.assertRegex(view, r"(?m)^  pid: +%d$" % program["pid"])
        self.assertRegex(view, r"(?m)^  limit: +64M$")
        self.assertRegex(view, r"(?m)^  memory\.max: +64M +64M$")
        self.assertRegex(view, r"(?m)^  pids_max: +100 +100$")
        self.assertRegex(view, r"(?m)^  no exit yet$")
        self.assertNotIn("pending", view)

        # Several names, or none: the table and its JSON, without the detail.
        result = self.assert_ctl_ok(self.ctl("status", "--json", "crasher", "web"))
        for program in json.loads(result.stdout)["programs"]:
            for key in ("history", "limits", "output"):
                self.assertNotIn(key, program)
        for program in json.loads(self.assert_ctl_ok(self.ctl("status", "--json")).stdout)[
                "programs"]:
            self.assertNotIn("history", program)
        result = self.assert_ctl_ok(self.ctl("status", "all"))
        self.assertTrue(result.stdout.startswith("NAME "), result.stdout)
        # An unknown name is still an error.
        result = self.ctl("status", "nope")
        self.assertEqual((result.returncode, result.stderr),
                         (1, 'climits-ctl: unknown program "nope"; nothing done\n'))

    def test_a_refused_limit_shows_in_the_view(self):
        ready = os.path.join(self.dir, "holder.ready")
        holder = os.path.join(self.dir, "holder.py")
        with open(holder, "w") as f:
            f.write("import time\n"
                    "block = bytearray(b'\\x01') * (30 << 20)  # written: really resident\n"
                    "open(%r, 'w').close()\n"
                    "time.sleep(100000)\n" % ready)

        def config(limit):
            return self.write_config({"holder": {
                "command": ["python3", holder], "memory": {"max": limit, "swappiness": 0},
                "start": {"settle": "100ms"}, "stop": {"timeout": "2s"}}})

        self.daemon(config("128M"))
        harness.wait_until(lambda: os.path.exists(ready), 30, "holder to allocate 30 MiB")
        config("8M")
        result = self.ctl("reload")
        self.assertEqual(result.returncode, 1, result)  # v1 refuses a limit below the usage
        result = self.assert_ctl_ok(self.ctl("status", "holder"))
        view = result.stdout
        print(view)
        self.assertRegex(view, r"(?m)^  memory\.max: +8M +128M$")
        self.assertRegex(view, r"(?m)^  pending: +memory\.max 128M -> 8M: .+$")
        program = json.loads(self.assert_ctl_ok(
            self.ctl("status", "--json", "holder")).stdout)["programs"][0]
        self.assertEqual(program["limits"]["desired"]["memory_max_bytes"], 8 * MIB)
        self.assertEqual(program["limits"]["applied"]["memory_max_bytes"], 128 * MIB)
        self.assertIn("memory.max", program["limits_pending"])


if __name__ == "__main__":
    harness.main()
