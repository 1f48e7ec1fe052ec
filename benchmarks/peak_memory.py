"""Peak resident memory of a command over all its processes together (a script, not a test; Linux).

    python benchmarks/peak_memory.py [--interval 0.2] -- antimag run --patients 1000000 --workers 2 --out o

Starts the command, and every ``--interval`` seconds sums the resident set (``VmRSS`` of
``/proc/PID/status``) of the command and all its descendants (pool workers, Dask workers); prints the
largest sum, the largest single process, the number of processes seen and the wall time. Sampling can miss
a peak shorter than the interval; each process's own high-water mark (``VmHWM``) is printed as a check of
the biggest one.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time


def _status(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM", "PPid"):
                    out[key] = int(rest.split()[0])
    except (OSError, ValueError):
        pass
    return out


def _tree(root: int) -> list[int]:
    """``root`` and every descendant, from the parent links of ``/proc``."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            ppid = _status(int(name)).get("PPid")
            if ppid is not None:
                children.setdefault(ppid, []).append(int(name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--interval", type=float, default=0.2, help="seconds between samples (default 0.2)")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        ap.error("give the command to measure after --")
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    peak_total = peak_single = 0
    hwm: dict[int, int] = {}
    seen: set[int] = set()
    while proc.poll() is None:
        total = 0
        for pid in _tree(proc.pid):
            st = _status(pid)
            rss = st.get("VmRSS", 0)
            total += rss
            peak_single = max(peak_single, rss)
            hwm[pid] = max(hwm.get(pid, 0), st.get("VmHWM", 0))
            seen.add(pid)
        peak_total = max(peak_total, total)
        time.sleep(args.interval)
    wall = time.perf_counter() - t0
    print(f"command: {' '.join(command)}")
    print(f"exit status {proc.returncode}, wall time {wall:.1f} s, {len(seen)} processes seen")
    print(
        f"peak resident memory over all processes (sum, sampled every {args.interval} s): "
        f"{peak_total / 1024:.0f} MiB"
    )
    print(
        f"largest single process: {peak_single / 1024:.0f} MiB (its own high-water mark: "
        f"{max(hwm.values(), default=0) / 1024:.0f} MiB)"
    )
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
