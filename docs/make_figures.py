"""Regenerate the figures of the educators' page (``docs/img/``) with the commands the page shows.

Run from the repository root: ``python docs/make_figures.py``. Each figure is produced by the command line
exactly as the page tells a teacher to run it (same scenarios, seeds and options), then scaled down and
reduced to a palette of 256 colours (no dithering: the colours of the figure's legend are kept) so that
the repository stays small. The report's picture is a screenshot of the top of
the HTML report in headless Chromium (skipped, with a message, where Chromium is absent).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
WIDTH = 1000  # pixels: sharp on a page, a few tens of kilobytes on disk

#: (command arguments after ``antimag``, file it writes under the temporary folder, name under docs/img)
FIGURES = [
    (
        ["patient", "scenarios/natural_history.toml", "--pick", "cidp-first", "--out", "{tmp}/cidp"],
        "cidp/patient.png",
        "patient-cidp-first.png",
    ),
    (
        [
            "patient",
            "scenarios/rituximab_at_diagnosis.toml",
            "--pick",
            "rituximab-responder",
            "--compare",
            "scenarios/supportive_care.toml",
            "--out",
            "{tmp}/rituximab",
        ],
        "rituximab/patient.png",
        "patient-rituximab-vs-supportive-care.png",
    ),
    (
        [
            "run",
            "scenarios/natural_history.toml",
            "--patients",
            "2000",
            "--seed",
            "1",
            "--out",
            "{tmp}/cohort",
        ],
        "cohort/milestones.png",
        "cohort-milestones.png",
    ),
    (None, "cohort/mrs.png", "cohort-mrs.png"),  # written by the same run
]
REPORT = [
    "report",
    "scenarios/supportive_care.toml",
    "scenarios/rituximab_at_diagnosis.toml",
    "--patients",
    "2000",
    "--seed",
    "1",
    "--out",
    "{tmp}/report.html",
]


def _antimag(args: list[str], tmp: Path) -> None:
    command = [sys.executable, "-m", "sim", *(a.format(tmp=tmp) for a in args)]
    print("antimag", " ".join(args).replace("{tmp}/", ""), flush=True)
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def _save_small(
    source: Path, target: Path, crop_height: int | None = None, width: int = WIDTH, colors: int = 256
) -> None:
    image = Image.open(source).convert("RGB")
    if crop_height is not None:
        image = image.crop((0, 0, image.width, min(crop_height, image.height)))
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
    palette = image.quantize(colors=colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    palette.save(target, optimize=True)
    print(f"  -> {target.relative_to(ROOT)} ({target.stat().st_size / 1024:.0f} KiB)")


def main() -> int:
    IMG.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for args, written, name in FIGURES:
            if args is not None:
                _antimag(args, tmp)
            _save_small(tmp / written, IMG / name)
        _antimag(REPORT, tmp)
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium is None:
            print("chromium not found: docs/img/report-top.png not regenerated", file=sys.stderr)
            return 0
        shot = tmp / "report.png"
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=1100,1000",
                f"--screenshot={shot}",
                (tmp / "report.html").as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        _save_small(shot, IMG / "report-top.png", crop_height=1000, width=800)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
