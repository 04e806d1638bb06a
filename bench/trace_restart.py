#!/usr/bin/python3
"""Where the time of a kill -> replacement goes, from kernel tracepoints (perf).

    bench/trace_restart.py MANAGER [SAMPLES] [--oom OOMER]     (root; perf from linux-perf)

Starts MANAGER (a climits-manager binary, climits-exec beside it) on 10 `sleep` programs the
way bench.py does, records scheduler, exec/fork/exit, signal and cgroup-attach tracepoints
system-wide while it SIGKILLs p0000 SAMPLES times (default 30) — or, with --oom, makes the
OOMER program (bench/oomer.c, built) allocate past its 64 MiB limit SAMPLES times — and prints
the median, p95 and max of each step:

    victim exits        SIGKILL generated (by us, or by the kernel's OOM killer) -> the
                        victim's exit
    manager woken       -> the manager is woken (SIGCHLD)
    manager on CPU      -> it runs (scheduler latency)
    manager forks       -> its fork of the replacement (its own work: reap, classify, kill_all,
                           state machine, spawn set-up)
    helper exec'd       -> climits-exec runs in the child (uv_spawn waits for this)
    in memory cgroup    -> the helper's write to the memory cgroup.procs has attached it
                           (the kernel's cgroup migration)
    in pids cgroup      -> the same in the pids hierarchy
    program exec'd      -> the program runs

Used to find what limits the replacement latency (docs/performance.md). Needs only the
standard library and perf; cleans up like bench.py (same tag scheme).
"""

import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as B  # noqa: E402

EVENTS = ("sched:sched_switch,sched:sched_wakeup,sched:sched_process_fork,"
          "sched:sched_process_exec,sched:sched_process_exit,signal:signal_generate,"
          "cgroup:cgroup_attach_task")
STEPS = [("exit", "victim exits"), ("wake", "manager woken"), ("run", "manager on CPU"),
         ("fork", "manager forks"), ("helper", "helper exec'd"),
         ("attach1", "in memory cgroup"), ("attach2", "in pids cgroup"),
         ("prog", "program exec'd")]
LINE = re.compile(r"\s*(.+?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s+(.*)$")


def record(manager_binary, samples, data, oomer):
    res = B.Resources(str(os.getpid()))
    res.setup()
    extra = {"oomer": {"command": [oomer, res.sleep_arg(9999)]}} if oomer else None
    manager = B.ClimitsManager(res, manager_binary, "mgr", 10, extra_programs=extra)
    name, expected = ("oomer", "oomer") if oomer else ("p0000", "sleep")
    perf = None
    try:
        manager.launch()
        B.wait_until(lambda: [B.comm(p) for p in manager.procs(name)] == [expected], 30,
                     "%s running" % name, process=manager.process, follower=manager.follower)
        perf = subprocess.Popen(["perf", "record", "-q", "-a", "-e", EVENTS, "-o", data],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        latencies = []
        for _ in range(samples):
            old = B.Bench.settled(manager, name, expected,
                                  signal_ready=signal.SIGUSR1 if oomer else None)
            t0 = time.perf_counter()
            os.kill(old, signal.SIGUSR1 if oomer else signal.SIGKILL)
            latencies.append(B.Bench.new_pid(manager, name, old, t0))
        time.sleep(0.2)
        perf.send_signal(signal.SIGINT)
        perf.wait()
        pid = manager.process.pid
        manager.shutdown(60)
        return pid, latencies
    finally:
        if perf is not None and perf.poll() is None:
            perf.kill()
        manager.close()
        res.cleanup()


def parse(manager_pid, text):
    events = []
    for line in text.splitlines():
        match = LINE.match(line)
        if match:
            events.append((float(match.group(4)), match.group(5), match.group(6)))
    phases = []
    for i, (t, name, rest) in enumerate(events):
        if name != "signal:signal_generate" or "sig=9 " not in rest or not (
                "comm=sleep" in rest or "comm=oomer" in rest):
            continue
        victim = re.search(r"pid=(\d+)", rest).group(1)
        p = {"kill": t}
        new = None
        for t2, n2, r2 in events[i + 1:]:
            if t2 - t > 2:
                break
            if "exit" not in p:
                if n2 == "sched:sched_process_exit" and "pid=%s " % victim in r2:
                    p["exit"] = t2
            elif "wake" not in p:
                if n2 == "sched:sched_wakeup" and "pid=%d " % manager_pid in r2:
                    p["wake"] = t2
            elif "run" not in p:
                if n2 == "sched:sched_switch" and "next_pid=%d " % manager_pid in r2:
                    p["run"] = t2
            elif "fork" not in p:
                if n2 == "sched:sched_process_fork" and "pid=%d " % manager_pid in r2:
                    p["fork"] = t2
                    new = re.search(r"child_pid=(\d+)", r2).group(1)
            elif "helper" not in p:
                if n2 == "sched:sched_process_exec" and "pid=%s " % new in r2:
                    p["helper"] = t2
            elif "attach1" not in p:
                if n2 == "cgroup:cgroup_attach_task" and "pid=%s " % new in r2:
                    p["attach1"] = t2
            elif "attach2" not in p:
                if n2 == "cgroup:cgroup_attach_task" and "pid=%s " % new in r2:
                    p["attach2"] = t2
            elif n2 == "sched:sched_process_exec" and "pid=%s " % new in r2:
                p["prog"] = t2
                break
        phases.append(p)
    return phases


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    args = sys.argv[1:]
    oomer = None
    if "--oom" in args:
        oomer = os.path.abspath(args[args.index("--oom") + 1])
        del args[args.index("--oom"):args.index("--oom") + 2]
    samples = int(args[1]) if len(args) > 1 else 30
    with tempfile.TemporaryDirectory() as scratch:
        data = os.path.join(scratch, "perf.data")
        manager_pid, latencies = record(args[0], samples, data, oomer)
        text = subprocess.run(["perf", "script", "-i", data, "-F",
                               "comm,pid,cpu,time,event,trace"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL).stdout.decode(errors="replace")
    phases = parse(manager_pid, text)
    print("%s -> new pid in cgroup.procs (harness): median %.2f ms, p95 %.2f ms, %d samples"
          % ("SIGUSR1 (then OOM)" if oomer else "SIGKILL", statistics.median(latencies) * 1e3, B.percentile(latencies, 0.95) * 1e3,
             len(latencies)))
    previous = "kill"
    for key, label in STEPS:
        spans = [(p[key] - p[previous]) * 1e3 for p in phases if key in p and previous in p]
        if spans:
            print("  %-18s median %6.2f ms   p95 %6.2f ms   max %6.2f ms" % (
                label, statistics.median(spans), B.percentile(spans, 0.95), max(spans)))
        previous = key
    return 0


if __name__ == "__main__":
    sys.exit(main())
