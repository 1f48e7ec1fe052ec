"""Nothing in the repository points outside it: users get the repository, and only the repository.

Citations of the team's working notes (their file names or section marks) and paths of one machine mean
nothing to a user and go stale silently. Facts carry over with their published citation instead (a key of
``docs/references.md``).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
THIS = Path(__file__).resolve()

#: What must not appear: the working notes by name or section mark, and absolute paths of the build machine.
FORBIDDEN = re.compile(
    r"\.\./shared/"
    r"|\bshared/(?:evidence|hooks|contract|seeds|data)\b"
    r"|\bDESIGN(?:\.md|\s*§)"
    r"|\bEVIDENCE(?:\.md|\s*§)"
    r"|\bTESTING(?:\.md|\s+[A-F]\d)"
    r"|/work/|/root/"
)
TEXT_SUFFIXES = {".md", ".py", ".toml", ".yml", ".yaml", ".txt", ".cfg", ".ini", ".html", ".j2", ".css"}
SKIP_DIRS = {"site", "build", "dist", "__pycache__", "node_modules"}


def _files(*tops: str) -> list[Path]:
    out = []
    for top in tops:
        base = ROOT / top
        if base.is_file():
            out.append(base)
            continue
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(ROOT).parts
            if any(p.startswith(".") or p in SKIP_DIRS or p.endswith(".egg-info") for p in rel[:-1]):
                continue
            if path.is_file() and path.suffix in TEXT_SUFFIXES and path.resolve() != THIS:
                out.append(path)
    return out


def _hits(files: list[Path]) -> list[str]:
    hits = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if FORBIDDEN.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    return hits


def test_docs_and_readme_name_no_file_outside_the_repository():
    files = _files("docs", "README.md", "mkdocs.yml")
    assert any(p.name == "index.md" for p in files)
    assert not _hits(files), "cite the published source (docs/references.md) instead:\n" + "\n".join(
        _hits(files)
    )


def test_code_scenarios_and_tests_name_no_file_outside_the_repository():
    files = _files("sim", "analysis", "scenarios", "tests", "benchmarks", "pyproject.toml")
    assert len(files) > 50
    assert not _hits(files), "cite the published source (docs/references.md) instead:\n" + "\n".join(
        _hits(files)
    )


def test_the_pattern_catches_what_it_names():
    for bad in (
        "see ../shared/evidence/EVIDENCE.md",
        "(DESIGN §6)",
        "TESTING.md A3",
        "TESTING C20",
        "/work/venv/bin/python",
        "EVIDENCE §5",
    ):
        assert FORBIDDEN.search(bad), bad
    for fine in ("the design of the model", "testing strategies", "shared by every strategy", "evidence"):
        assert not FORBIDDEN.search(fine), fine
