#!/usr/bin/python3
"""What depends_on costs at start (docs/health.md): the same N `sleep` programs as bench.py
runs them, started without dependencies and as a chain of LEVELS levels (each program of a
level depends on one program of the level before: `ready`, which with settle 0 is as soon as
it runs), one after the other in the same run; the time from launch until every program is
running, as the median of --runs tries each, and the ratio.

    sudo bench/dependencies.py --manager BUILD/climits-manager [--count 500] [--levels 10]
                               [--runs 3] [--baseline OTHER/climits-manager]

--baseline: also the start without dependencies by another build (e.g. the commit before
depends_on), in the same runs: what the feature costs programs that do not use it.

Reuses bench.py's Resources (everything tagged, removed at the end) and ClimitsManager.
"""

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def chained(manager, levels):
    """Program i of level l (l > 0) depends on program i of level l - 1."""
    width = len(manager.names) // levels
    programs = {}
    for index, name in enumerate(manager.names):
        level = index // width
        if 0 < level < levels:
            programs[name] = {"command": manager.commands[name],
                              "depends_on": {manager.names[index - width]: "ready"}}
    return programs


def start_seconds(args, res, tag, levels, binary=None):
    manager = bench.ClimitsManager(res, binary or args.manager, tag, args.count)
    if levels > 1:
        manager.extra = chained(manager, levels)
    try:
        manager.launch()
        seconds = manager.wait_all_running(120 + args.count * 0.5)
        manager.shutdown(120 + args.count * 0.5)
    finally:
        manager.close()
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manager", required=True)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--levels", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline")
    args = parser.parse_args()
    if os.geteuid() != 0:
        parser.error("run as root: the bench creates cgroups")
    res = bench.Resources(str(os.getpid()))
    status = 0
    try:
        res.setup()
        flat, chain, baseline = [], [], []
        for run in range(args.runs):
            if args.baseline:
                baseline.append(start_seconds(args, res, "base-%d" % run, 1, args.baseline))
            flat.append(start_seconds(args, res, "flat-%d" % run, 1))
            chain.append(start_seconds(args, res, "chain-%d" % run, args.levels))
        if baseline:
            print("N=%d: start without dependencies by the baseline build: median %.2f s (%s); "
                  "this build ÷ baseline %.2f"
                  % (args.count, statistics.median(baseline),
                     ", ".join("%.2f" % s for s in baseline),
                     statistics.median(flat) / statistics.median(baseline)), flush=True)
        print("N=%d: start without dependencies: median %.2f s (%s); as a chain of %d levels: "
              "median %.2f s (%s); ratio %.2f"
              % (args.count, statistics.median(flat), ", ".join("%.2f" % s for s in flat),
                 args.levels, statistics.median(chain), ", ".join("%.2f" % s for s in chain),
                 statistics.median(chain) / statistics.median(flat)), flush=True)
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
