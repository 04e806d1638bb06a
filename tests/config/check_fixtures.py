#!/usr/bin/env python3
"""Runs `climits-manager --check` on every fixture and compares its verdict and errors.

  tests/fixtures/bad/NAME.yaml  must exit 1 and print exactly the lines of NAME.err
                                (followed by the one summary line "NAME.yaml: N errors, …")
  tests/fixtures/good/*.yaml    must exit 0
  configs/*.yaml                must exit 0

The check runs with the fixture's folder as the working directory and the bare file name as
the argument, so expected lines read "NAME.yaml:LINE:COL: path: message".
usage: check_fixtures.py CLIMITS_MANAGER SOURCE_DIR
"""
import pathlib
import subprocess
import sys


def run_check(binary, path):
    result = subprocess.run([binary, "--check", "-c", path.name], cwd=path.parent,
                            capture_output=True, text=True, errors="replace", timeout=30)
    return result.returncode, result.stdout, result.stderr


def main():
    binary, source = sys.argv[1], pathlib.Path(sys.argv[2])
    failures, checked = [], 0
    bad_dir = source / "tests/fixtures/bad"
    for fixture in sorted(bad_dir.glob("*.yaml")):
        checked += 1
        expected_file = fixture.with_suffix(".err")
        if not expected_file.exists():
            failures.append(f"{fixture.name}: no {expected_file.name} beside it")
            continue
        expected = expected_file.read_text().splitlines()
        code, _, err = run_check(binary, fixture)
        lines = err.splitlines()
        summary = f"{fixture.name}: {len(expected)} error" + ("" if len(expected) == 1 else "s")
        if code != 1:
            failures.append(f"{fixture.name}: exit {code}, expected 1\n{err}")
        elif lines[:-1] != expected or not lines[-1].startswith(summary):
            failures.append(f"{fixture.name}: errors differ\n--- expected\n" +
                            "\n".join(expected) + "\n--- got\n" + err)
    good = sorted((source / "tests/fixtures/good").glob("*.yaml")) + \
        sorted((source / "configs").glob("*.yaml"))
    for path in good:
        checked += 1
        code, out, err = run_check(binary, path)
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
