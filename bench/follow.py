#!/usr/bin/python3
"""What `climits-ctl logs -f` costs the manager (bench/README.md, "logs -f").

A program (bench/writer.c) writes numbered ~100-byte lines at a steady rate (10 MB/s by
default) into a rotated output file. The manager's CPU (utime + stime of /proc/PID/stat) is
measured over a window without a follower, then over the same window while `climits-ctl logs
-f` follows the program (its output to /dev/null), alternately, several runs. Reported: the
manager's share of one core in each case, the follower's own, and whether the follower had to
skip lines (its skip markers on stderr).

    sudo bench/follow.py --manager build/climits-manager --ctl build/climits-ctl
                         [--rate 10000000] [--seconds 10] [--runs 3] [--json FILE]

Needs root and cgroup v1 with the memory hierarchy, like bench/run.sh; `cc` builds the writer.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message):
    print("follow: " + message, file=sys.stderr, flush=True)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def own_memory_cgroup():
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if "memory" in controllers.split(","):
                return "/sys/fs/cgroup/memory" + path
    raise SystemExit("follow: no cgroup v1 memory hierarchy")


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("follow: timed out waiting for " + what)
        time.sleep(0.02)


def measure(pid, seconds):
    """The share of one core `pid` used over `seconds` of wall time."""
    began, cpu = time.monotonic(), cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - cpu) / (time.monotonic() - began)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manager", required=True)
    parser.add_argument("--ctl", required=True)
    parser.add_argument("--rate", type=int, default=10_000_000, help="bytes per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("follow: run as root (it creates cgroups)")

    work = tempfile.mkdtemp(prefix="climits-follow-")
    here = os.path.dirname(os.path.abspath(__file__))
    writer = os.path.join(work, "writer")
    subprocess.run([os.environ.get("CC", "cc"), "-O2", "-o", writer,
                    os.path.join(here, "writer.c")], check=True)
    root = os.path.join(own_memory_cgroup(), "climits-follow-%d" % os.getpid())
    socket_path = os.path.join(work, "control.sock")
    config = os.path.join(work, "programs.yaml")
    with open(config, "w") as f:
        json.dump({"version": 1,
                   "manager": {"cgroup_root": root, "control_socket": socket_path,
                               "log_dir": os.path.join(work, "logs"), "log_level": "warn"},
                   "programs": {"writer": {
                       "command": [writer, str(args.rate)], "start": {"settle": "100ms"},
                       # Rotated every few seconds at 10 MB/s: the follower goes through it.
                       "stdout": {"file": "auto", "max_size": "32M", "keep": 1}}}}, f)
    manager = subprocess.Popen([args.manager, "-c", config], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL,
                               stderr=open(os.path.join(work, "manager.log"), "wb"))
    results = {"rate_bytes_per_second": args.rate, "seconds": args.seconds, "runs": [],
               "manager": args.manager}
    try:
        status = [args.ctl, "-s", socket_path, "status", "--json"]
        wait_until(lambda: subprocess.run(status, capture_output=True).returncode == 0 and
                   '"running"' in subprocess.run(status, capture_output=True, text=True).stdout,
                   30, "the writer running")
        time.sleep(1)  # past the start-up
        for run in range(args.runs):
            alone = measure(manager.pid, args.seconds)
            follower = subprocess.Popen([args.ctl, "-s", socket_path, "logs", "-f", "-n", "0",
                                         "writer"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)
            follower_cpu = cpu_seconds(follower.pid)
            began = time.monotonic()
            followed = measure(manager.pid, args.seconds)
            follower_share = (cpu_seconds(follower.pid) - follower_cpu) / (time.monotonic() -
                                                                           began)
            follower.send_signal(signal.SIGINT)
            follower.wait(timeout=30)
            skips = [line for line in follower.stderr.read().splitlines() if "skipped" in line]
            results["runs"].append({"manager_alone": alone, "manager_followed": followed,
                                    "follower": follower_share, "skip_markers": len(skips)})
            log("run %d: manager %.1f%% of a core alone, %.1f%% with logs -f (which took "
                "%.1f%%), %d skip markers" % (run + 1, alone * 100, followed * 100,
                                               follower_share * 100, len(skips)))
    finally:
        manager.send_signal(signal.SIGTERM)
        try:
            manager.wait(timeout=30)
        except subprocess.TimeoutExpired:
            manager.kill()
        shutil.rmtree(work, ignore_errors=True)
    median = {key: statistics.median(r[key] for r in results["runs"])
              for key in ("manager_alone", "manager_followed", "follower")}
    results["median"] = median
    print("manager CPU, %d MB/s of output, %gs windows, median of %d runs: %.1f%% of a core "
          "without a follower, %.1f%% with climits-ctl logs -f (+%.1f points); climits-ctl "
          "itself %.1f%%" % (args.rate // 1_000_000, args.seconds, args.runs,
                             median["manager_alone"] * 100, median["manager_followed"] * 100,
                             (median["manager_followed"] - median["manager_alone"]) * 100,
                             median["follower"] * 100))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
