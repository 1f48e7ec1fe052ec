"""Malformed scenarios by the thousand: generation, checking and simulation of each case.

Every case starts from the bundled natural history (a complete scenario, so a case stands alone) and applies
one to three mutations: a wrong type, a missing or unknown key, an extreme number (huge, tiny, subnormal,
negative, infinite, NaN, integers of hundreds of digits), deep nesting, corrupted bytes or encodings, or a
broken ``extends`` (missing, a cycle, a device, a directory, a name too long, not a string, a parent with a
mutation of its own). Each case is run as ``antimag check`` would run it; the only acceptable outcomes are
success or exit status 2 with a message naming one of the case's files. Accepted cases are then simulated
briefly. A per-case alarm turns a hang into a reported failure.
"""

from __future__ import annotations

import contextlib
import io
import math
import random
import signal
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

import sim
from sim.cli import main
from sim.scenario.loading import default_scenario_path

BASE = tomllib.loads(default_scenario_path().read_text(encoding="utf-8"))
EXTREMES: tuple[Any, ...] = (
    0,
    -0.0,
    -1,
    1e308,
    -1e308,
    5e-324,
    -5e-324,
    1e-300,
    math.inf,
    -math.inf,
    math.nan,
    10**400,
    -(10**400),
    2**63,
    1e15,
    0.999999999999,
    1.0000001,
)
WRONG_TYPES: tuple[Any, ...] = ("text", "", True, False, 3, 2.5, [], [1, "a"], {}, {"value": "x"}, [[1]])
KEYS = ("value", "sd", "dist", "source", "alpha", "beta", "low", "high", "type", "zzz_unknown", "extends")


class CaseTimeout(Exception):
    """A case ran longer than its alarm."""


@dataclass
class Tally:
    """What a fuzz run found: counts by outcome and the failing cases (at most 20 kept)."""

    cases: int = 0
    rejected: int = 0
    accepted: int = 0
    simulated: int = 0
    kinds: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    n_failures: int = 0

    def fail(self, text: str) -> None:
        self.n_failures += 1
        if len(self.failures) < 20:
            self.failures.append(text)

    def report(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.kinds.items()))
        return (
            f"{self.cases} cases ({kinds}): {self.rejected} rejected with exit 2, {self.accepted} accepted, "
            f"{self.simulated} of them simulated; {self.n_failures} failures"
        )


@contextlib.contextmanager
def alarm(seconds: int):
    def ring(signum, frame):
        raise CaseTimeout(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------- mutations of the data


def _tables(data: dict, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    for k, v in data.items():
        if isinstance(v, dict):
            out.extend(_tables(v, (*prefix, k)))
    return out


def _leaves(data: dict, prefix: tuple = ()) -> list[tuple]:
    out = []
    for k, v in data.items():
        if isinstance(v, dict):
            out.extend(_leaves(v, (*prefix, k)))
        else:
            out.append((*prefix, k))
    return out


def _node(data: dict, path: tuple) -> dict:
    for k in path:
        data = data[k]
    return data


def mutate(data: dict, rng: random.Random) -> str:
    """Apply one random mutation to ``data`` in place; returns its kind."""
    kind = rng.choice(("wrong_type", "missing", "unknown", "extreme", "extreme", "swap", "edge", "edge"))
    if kind == "edge":  # a fixed value at the edge of what the schema accepts: the simulation's stress test
        params = [p for p in _tables(data) if p and "value" in _node(data, p)]
        path = rng.choice(params)
        old = _node(data, path)["value"]
        if isinstance(old, int | float) and not isinstance(old, bool):
            new = rng.choice((0.0, 1e-300, 1e-12, 1e-6, 1.0, 1e6, 1e300, old * 1000, old / 1000))
            _node(data, path[:-1])[path[-1]] = {"value": new, "source": "fuzz"}
    elif kind == "wrong_type":
        path = rng.choice(_leaves(data))
        _node(data, path[:-1])[path[-1]] = rng.choice(WRONG_TYPES)
    elif kind == "missing":
        path = rng.choice([p for p in _tables(data) + _leaves(data) if p])
        del _node(data, path[:-1])[path[-1]]
    elif kind == "unknown":
        table = rng.choice(_tables(data))
        _node(data, table)[rng.choice(KEYS) + rng.choice(("", "_x"))] = rng.choice((*WRONG_TYPES, 1.0))
    elif kind == "extreme":
        numeric = [p for p in _leaves(data) if isinstance(_node(data, p[:-1])[p[-1]], int | float)]
        path = rng.choice(numeric)
        _node(data, path[:-1])[path[-1]] = rng.choice(EXTREMES)
    else:  # a table where a scalar belongs, or the reverse
        path = rng.choice([p for p in _tables(data) + _leaves(data) if p])
        parent = _node(data, path[:-1])
        parent[path[-1]] = {"a": 1} if not isinstance(parent[path[-1]], dict) else rng.choice(WRONG_TYPES)
    return kind


# --------------------------------------------------------------------------- cases as files


def _dump(data: dict) -> bytes:
    return tomli_w.dumps(data).encode("utf-8")


def _corrupt(raw: bytes, rng: random.Random) -> bytes:
    how = rng.randrange(6)
    if how == 0 and raw:
        b = bytearray(raw)
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    if how == 1:
        return raw[: rng.randrange(len(raw) + 1)]
    if how == 2:
        at = rng.randrange(len(raw) + 1)
        return raw[:at] + rng.choice((b"\xff\xfe", b"\x00", b"\xc3", b"\xed\xa0\x80")) + raw[at:]
    if how == 3:
        return raw.decode("utf-8").encode("utf-16")
    if how == 4:
        return b"\xef\xbb\xbf" + raw  # a byte-order mark
    return bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))


def _deep(rng: random.Random) -> bytes:
    n = rng.choice((33, 100, 1000, 5000))
    opener, closer = rng.choice((("[", "]"), ("{a=", "}")))
    body = opener * n + ("1" if opener != "[" else "") + closer * n
    return f"deep = {body}\n".encode()


def build_case(index: int, directory: Path, seed: int = 0) -> tuple[str, Path, list[Path]]:
    """Write case ``index`` under ``directory``; returns (kind, the file to check, every file it involves)."""
    rng = random.Random(seed * 1_000_003 + index)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "case.toml"
    data = tomllib.loads(tomli_w.dumps(BASE))
    kind = rng.choice(("data", "data", "data", "data", "bytes", "deep", "extends"))
    files = [path]
    if kind == "data":
        kinds = [mutate(data, rng) for _ in range(rng.choice((1, 1, 2, 3)))]
        kind = "+".join(kinds)
        path.write_bytes(_dump(data))
    elif kind == "bytes":
        path.write_bytes(_corrupt(_dump(data), rng))
    elif kind == "deep":
        path.write_bytes(_deep(rng) + _dump(data))
    else:
        kind, files = _extends_case(data, rng, directory, path)
    return kind, path, files


def _extends_case(data: dict, rng: random.Random, directory: Path, path: Path) -> tuple[str, list[Path]]:
    how = rng.choice(("missing", "self", "cycle", "device", "directory", "long", "not_a_string", "layered"))
    child: dict[str, Any] = {"name": "child"}
    files = [path]
    target: Any
    if how == "missing":
        target = "no_such_parent.toml"
    elif how == "self":
        target = path.name
    elif how == "cycle":
        other = directory / "other.toml"
        other.write_bytes(_dump({"extends": path.name, **data}))
        files.append(other)
        target = other.name
    elif how == "device":
        target = "/dev/zero"
    elif how == "directory":
        target = "."
    elif how == "long":
        target = "p" * rng.choice((300, 5000)) + ".toml"
    elif how == "not_a_string":
        target = rng.choice((1, True, [], {"a": 1}, 2.5))
    else:
        parent = directory / "parent.toml"
        parent_data = tomllib.loads(tomli_w.dumps(data))
        if rng.random() < 0.5:
            mutate(parent_data, rng)
        parent.write_bytes(_dump(parent_data))
        files.append(parent)
        target = parent.name
        child = {}
        mutate_child = tomllib.loads(tomli_w.dumps(data))
        mutate(mutate_child, rng)
        section = rng.choice([k for k, v in mutate_child.items() if isinstance(v, dict)] or ["settings"])
        child = {section: mutate_child.get(section, {})}
    path.write_bytes(_dump({"extends": target, **child}))
    return f"extends:{how}", files


# --------------------------------------------------------------------------- running a case


def check_case(path: Path, files: list[Path]) -> tuple[int, str]:
    """``antimag check`` in process: (exit status, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(["check", str(path)])
    return status, err.getvalue()


def run_cases(
    n: int, root: Path, seed: int = 0, simulate_every: int = 1, timeout: int = 20, patients: int = 3
) -> Tally:
    """Generate, check and (every ``simulate_every``-th accepted case) simulate ``n`` cases."""
    tally = Tally()
    for i in range(n):
        case_dir = root / f"c{i % 50}"
        if case_dir.exists():
            for p in case_dir.iterdir():
                p.unlink()
        kind, path, files = build_case(i, case_dir, seed)
        tally.cases += 1
        tally.kinds[kind.split(":")[0].split("+")[0]] += 1
        try:
            with alarm(timeout):
                status, err = check_case(path, files)
        except BaseException as exc:  # noqa: BLE001 - anything that escapes is what we hunt
            tally.fail(f"case {i} ({kind}): check raised {type(exc).__name__}: {str(exc)[:200]}")
            continue
        if status == 2:
            tally.rejected += 1
            if "Traceback" in err or not any(str(f) in err or f.name in err for f in files):
                tally.fail(f"case {i} ({kind}): message names none of its files: {err[:300]}")
            continue
        if status != 0:
            tally.fail(f"case {i} ({kind}): exit {status}: {err[:300]}")
            continue
        tally.accepted += 1
        if tally.accepted % simulate_every:
            continue
        try:
            with alarm(timeout):
                scenario = sim.load_scenario(path)
                sim.simulate(scenario, n_patients=patients, seed=i)
            tally.simulated += 1
        except sim.ScenarioError:
            tally.simulated += 1  # a draw-time rule (sampled values), reported as bad input
        except BaseException as exc:  # noqa: BLE001
            tally.fail(f"case {i} ({kind}): simulation raised {type(exc).__name__}: {str(exc)[:300]}")
    return tally
