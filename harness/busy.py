"""`make test-busy`: the whole suite, several times in a row, while a CPU hog keeps every core busy.

A test that passes only on an idle machine depends on wall-clock luck; it will fail CI some day and hide real
races. This starts `stress-ng --cpu N` (N = the number of cores unless told; the Debian package is listed in
requirements-system.txt, which `make deps` installs as root; nothing is installed here), runs `pytest` RUNS times
(default 3), prints each run's counts and duration, stops the hog (also when interrupted), and exits non-zero if
any run failed. The hog is given a timeout of its own too, so it cannot outlive a killed helper for long.

    python -m harness.busy [--runs 3] [--cpu 2] [-- extra pytest arguments]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET  # noqa: S405 - parses the junit file pytest has just written
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_CEILING_SECONDS = 30 * 60  # per run: the hog's own timeout is RUNS times this


def start_hog(cpus: int, runs: int) -> subprocess.Popen:
    stress = shutil.which("stress-ng")
    if stress is None:
        sys.exit("stress-ng is not installed: it is in requirements-system.txt (`make deps` as root installs it)")
    # its own session, so stopping it stops its workers and nothing else
    hog = subprocess.Popen(  # noqa: S603 - a fixed command line
        [stress, "--cpu", str(cpus), "--timeout", f"{runs * RUN_CEILING_SECONDS}s", "--quiet"],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # "finished prematurely"
    time.sleep(1)  # stress-ng forks its workers; a hog that exits at once (bad flags) is reported here
    if hog.poll() is not None:
        sys.exit(f"stress-ng exited at once with status {hog.returncode}")
    return hog


def stop_hog(hog: subprocess.Popen) -> None:
    if hog.poll() is None:
        os.killpg(hog.pid, signal.SIGTERM)  # the session started above: stress-ng and its workers
        try:
            hog.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(hog.pid, signal.SIGKILL)
            hog.wait()


def counts(junit: Path) -> dict[str, int]:
    if not junit.exists():
        return {"tests": 0, "failures": 0, "errors": 1, "skipped": 0}  # pytest died before writing its report
    suite = ET.parse(junit).getroot()  # noqa: S314 - our own pytest's output
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    return {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=os.cpu_count() or 2, help="stress-ng CPU workers (default: cores)")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to pytest")
    args = parser.parse_args(argv)

    what = f"pytest {' '.join(args.pytest_args)}" if args.pytest_args else "the whole suite"
    print(f"test-busy: {args.runs} run(s) of {what} while `stress-ng --cpu {args.cpu}` keeps the CPUs busy", flush=True)
    hog = start_hog(args.cpu, args.runs)
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for run in range(1, args.runs + 1):
                if hog.poll() is not None:
                    print(f"stress-ng stopped (status {hog.returncode}): later runs would not be under load")
                    return 2
                junit = Path(tmp) / f"run{run}.xml"
                started = time.monotonic()
                code = subprocess.call(  # noqa: S603 - this interpreter's pytest, arguments from our own caller
                    [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
                     *args.pytest_args], cwd=ROOT)
                seconds = time.monotonic() - started
                c = counts(junit)
                passed = c["tests"] - c["failures"] - c["errors"] - c["skipped"]
                ok = code == 0
                results.append(ok)
                print(f"test-busy run {run}/{args.runs}: {'PASS' if ok else 'FAIL'} (pytest exit {code}): "
                      f"{passed} passed, {c['failures']} failed, {c['errors']} errors, {c['skipped']} skipped "
                      f"in {seconds:.0f}s", flush=True)
    finally:
        stop_hog(hog)
    print(f"test-busy: {sum(results)}/{len(results)} runs passed under load")
    return 0 if all(results) and len(results) == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
