#!/usr/bin/python3
"""The operator's side of climits-manager: how long `climits-ctl status` takes for many
programs, and what the manager's memory is with them (bench/README.md, "climits-ctl status").

    sudo bench/ctl_status.py --manager BUILD/climits-manager --ctl BUILD/climits-ctl
                             [--counts 500,1000] [--samples 20] [--history]

For each N: N `sleep` programs as bench.py runs them (64 MiB limit, output to null), all
running; then the manager's RSS and PSS (/proc/PID/smaps_rollup, 1 s after the last start),
and the wall time of `climits-ctl status`, `status --json` and `status NAME` (the detail
view), each `--samples` times one after the other: median, min and max; then the floors
they stand on, `/bin/true` and `climits-ctl version`, the same way. `--history`: the same
N programs instead exit 1 ten times each and are given up on (`fatal`), so that every program
keeps a full history of its last exits: the RSS that history costs. Pass the binaries of two
builds to compare them (both built alike: bench/run.sh builds Release with static deps).

Reuses bench.py's Resources (everything tagged, removed at the end) and ClimitsManager.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def timed(argv, samples):
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - began)
        if result.returncode != 0:
            raise bench.BenchError("%s failed: %s" % (" ".join(argv), result.stderr.decode()))
    return statistics.median(times), min(times), max(times)


def crashing_programs(manager):
    """Every program exits 1 at once, is restarted 9 times, then given up on: 10 exits each."""
    return {name: {"command": ["sh", "-c", "exit 1"],
                   "restart": {"policy": "on-failure",
                               "backoff": {"initial": "0", "max": "0", "jitter": 0},
                               "limit": {"burst": 9, "interval": "1h"}}}
            for name in manager.names}


def measure(args, res, count):
    manager = bench.ClimitsManager(res, args.manager, "ctl-n%d" % count, count)
    if args.history:
        manager.extra = crashing_programs(manager)
    try:
        manager.launch()
        timeout = 120 + count * 0.5
        if args.history:
            socket = os.path.join(manager.dir, "control.sock")

            def all_fatal():
                result = subprocess.run([args.ctl, "-s", socket, "status"],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                rows = result.stdout.decode().splitlines()[1:]
                return len(rows) == count and all(r.split()[1] == "fatal" for r in rows)
            bench.wait_until(all_fatal, timeout, "every program fatal after 10 exits",
                             interval=0.5, process=manager.process)
        else:
            manager.wait_all_running(timeout)
        time.sleep(1.0)
        rss, pss = bench.smaps_rollup(manager.process.pid)
        socket = os.path.join(manager.dir, "control.sock")
        table = timed([args.ctl, "-s", socket, "status"], args.samples)
        as_json = timed([args.ctl, "-s", socket, "status", "--json"], args.samples)
        detail = timed([args.ctl, "-s", socket, "status", manager.names[count // 2]],
                       args.samples)
        # The floors the figures above stand on: starting any process from this harness, and
        # climits-ctl's own start with one small round trip.
        floor = timed(["/bin/true"], args.samples)
        version = timed([args.ctl, "-s", socket, "version"], args.samples)
        manager.shutdown(timeout)
    finally:
        manager.close()
    print("N=%d%s: RSS %.2f MiB (%d KiB), PSS %.2f MiB; climits-ctl status: median %.2f ms "
          "(min %.2f, max %.2f); status --json: median %.2f ms; status NAME: median %.2f ms; "
          "floors: /bin/true %.2f ms, climits-ctl version %.2f ms"
          % (count, " (every program with 10 exits)" if args.history else "", rss / 2**20,
             rss // 1024, pss / 2**20, table[0] * 1e3, table[1] * 1e3, table[2] * 1e3,
             as_json[0] * 1e3, detail[0] * 1e3, floor[0] * 1e3, version[0] * 1e3), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manager", required=True)
    parser.add_argument("--ctl", required=True)
    parser.add_argument("--counts", default="500,1000")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--history", action="store_true",
                        help="programs that exit 10 times and are given up on")
    args = parser.parse_args()
    if os.geteuid() != 0:
        parser.error("run as root: the bench creates cgroups")
    res = bench.Resources(str(os.getpid()))
    status = 0
    try:
        res.setup()
        for count in (int(c) for c in args.counts.split(",")):
            measure(args, res, count)
    except bench.BenchError as error:
        print("FAILED: %s" % error)
        status = 1
    finally:
        for item in res.cleanup():
            print("could not remove " + item)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
