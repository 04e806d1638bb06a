#!/usr/bin/env python3
"""Runs `climits-manager --check` on every fixture and compares its verdict and errors.

  tests/fixtures/bad/NAME.yaml  must exit 1 and print exactly the lines of NAME.err
                                (followed by the one summary line "NAME.yaml: N errors, …")
  tests/fixtures/good/*.yaml    must exit 0
  configs/*.yaml                must exit 0

Some cases are generated here instead of committed: files over the 16 MiB limit (and one
exactly at it, which must still be read). Fixtures built to exhaust a parser (alias bombs,
deep nesting) must also finish within a time and memory bound.

The check runs with the fixture's folder as the working directory and the bare file name as
the argument, so expected lines read "NAME.yaml:LINE:COL: path: message".
usage: check_fixtures.py CLIMITS_MANAGER SOURCE_DIR
"""
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

MAX_CONFIG_BYTES = 16 << 20  # loader.h kMaxConfigBytes
TOO_LARGE = ("the file is larger than 16 MiB; a configuration is normally a few KiB "
             "(is this the right file?)")

# Fixtures meant to make a parser blow up: each must be refused quickly and in little memory.
BOUNDED = {
    "billion-laughs.yaml": "9^9 strings if aliases were copied",
    "billion-laughs-walked.yaml": "the same, in keys the loader reads",
    "deeply-nested.yaml": "10000 nested flow sequences",
}
BOUND_SECONDS = 2.0
# Peak RSS as the kernel reports it for the child; it includes this script's own memory,
# copied by fork before the exec (about 12 MiB), so the loader's share is well below this.
BOUND_RSS_KIB = 64 * 1024
TIMEOUT_SECONDS = 30  # any single check: killed after this


def run_check(binary, path):
    """(exit code, stdout, stderr, seconds, peak RSS in KiB) of one check."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen([binary, "--check", "-c", path.name], cwd=path.parent,
                                   stdout=out, stderr=err)
        watchdog = threading.Timer(TIMEOUT_SECONDS, process.kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            watchdog.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        decode = lambda data: data.decode("utf-8", errors="replace")
        return (process.returncode, decode(out.read()), decode(err.read()), seconds,
                usage.ru_maxrss)


def check_bad(binary, fixture, expected, failures):
    code, _, err, seconds, rss = run_check(binary, fixture)
    lines = err.splitlines()
    summary = f"{fixture.name}: {len(expected)} error" + ("" if len(expected) == 1 else "s")
    if code != 1:
        failures.append(f"{fixture.name}: exit {code}, expected 1\n{err}")
    elif lines[:-1] != expected or not lines[-1].startswith(summary):
        failures.append(f"{fixture.name}: errors differ\n--- expected\n" +
                        "\n".join(expected) + "\n--- got\n" + err)
    return seconds, rss


def generated_cases(binary, failures):
    """Files too big to commit: over the limit (both through the read limit and exactly one
    byte past it), and a valid file of exactly 16 MiB, which must still be accepted."""
    checked = 0
    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        cases = {
            "huge.yaml": 17 << 20,          # refused while reading
            "one-byte-over.yaml": MAX_CONFIG_BYTES + 1,
        }
        for name, size in cases.items():
            path = folder / name
            with open(path, "wb") as f:
                f.write(b"programs: {}\n")
                f.truncate(size)  # the rest is NUL bytes: only the size may be reported
            checked += 1
            check_bad(binary, path, [f"{name}: {TOO_LARGE}"], failures)
        path = folder / "at-the-limit.yaml"
        head = b"programs: {}\n#"
        path.write_bytes(head + b"x" * (MAX_CONFIG_BYTES - len(head) - 1) + b"\n")
        assert path.stat().st_size == MAX_CONFIG_BYTES
        checked += 1
        code, _, err, _, _ = run_check(binary, path)
        if code != 0:
            failures.append(f"{path.name} (exactly 16 MiB): exit {code}, expected 0\n{err}")
    return checked


def main():
    binary, source = os.path.abspath(sys.argv[1]), pathlib.Path(sys.argv[2])
    failures, checked = [], 0
    bad_dir = source / "tests/fixtures/bad"
    bad = sorted(bad_dir.glob("*.yaml"))
    for name in BOUNDED:
        if not (bad_dir / name).exists():
            failures.append(f"{name}: listed in BOUNDED but missing")
    for fixture in bad:
        checked += 1
        expected_file = fixture.with_suffix(".err")
        if not expected_file.exists():
            failures.append(f"{fixture.name}: no {expected_file.name} beside it")
            continue
        expected = expected_file.read_text().splitlines()
        seconds, rss = check_bad(binary, fixture, expected, failures)
        if fixture.name in BOUNDED:
            print(f"{fixture.name} ({BOUNDED[fixture.name]}): {seconds:.3f} s, {rss} KiB")
            if seconds > BOUND_SECONDS or rss > BOUND_RSS_KIB:
                failures.append(f"{fixture.name}: took {seconds:.3f} s and {rss} KiB "
                                f"(bound: {BOUND_SECONDS} s, {BOUND_RSS_KIB} KiB)")
    for orphan in sorted(bad_dir.glob("*.err")):
        if not orphan.with_suffix(".yaml").exists():
            failures.append(f"{orphan.name}: no {orphan.stem}.yaml beside it")
    checked += generated_cases(binary, failures)
    good = sorted((source / "tests/fixtures/good").glob("*.yaml")) + \
        sorted((source / "configs").glob("*.yaml"))
    for path in good:
        checked += 1
        code, out, err, _, _ = run_check(binary, path)
        if code != 0:
            failures.append(f"{path.name}: exit {code}, expected 0\n{err}")
        elif "configuration OK" not in out:
            failures.append(f"{path.name}: no summary line on stdout: {out!r}")
    for failure in failures:
        print("FAIL", failure, "\n")
    print(f"{checked - len(failures)} passed, {len(failures)} failed")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
