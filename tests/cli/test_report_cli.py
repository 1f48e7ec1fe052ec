"""``antimag report`` (sim/cli/report.py, analysis/report/): the page's sections and figures, that it is
self-contained (opened in headless Chromium: rendered, no request leaves the file), ``--force``,
atomic writing, byte-identical reruns, and bad input.

Strategy files extend shipped strategies with a 20-year horizon so that a report of 60 patients takes a
few seconds.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import sim
from analysis.report import CONTENT_SECURITY_POLICY, SECTIONS
from analysis.report.content import distribution_text, parameter_differences, parameter_rows
from sim.cli import main
from sim.run.output import OutputDirError, atomic_write_text
from sim.scenario.loading import bundled_scenario_path

FAST = ["--patients", "60", "--seed", "5"]
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def write_strategy(folder: Path, name: str) -> Path:
    path = folder / f"{name}.toml"
    parent = bundled_scenario_path(f"{name}.toml")
    path.write_text(f'extends = "{parent.as_posix()}"\n[settings]\nhorizon_years = 20.0\n')
    return path


def run_report(capsys, *args: str) -> tuple[int, str, str]:
    try:
        status = main(["report", *args])
    except SystemExit as exc:  # argparse's own exit on bad options
        status = exc.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


class Page(HTMLParser):
    """The parts of a page the tests read: headings, images, links, scripts, meta tags, text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.h2: list[str] = []
        self.images: list[dict] = []
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self.meta: list[dict] = []
        self._in_h2 = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        self._in_h2 = tag == "h2"
        if tag == "h2":
            self.h2.append("")
        if tag == "img":
            self.images.append(a)
        if tag == "meta":
            self.meta.append(a)
        for key in ("src", "href", "action", "data", "poster", "srcset"):
            if a.get(key):
                self.urls.append(a[key])

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._in_h2:
            self.h2[-1] += data


@pytest.fixture(scope="module")
def strategies(tmp_path_factory) -> list[str]:
    folder = tmp_path_factory.mktemp("strategies")
    return [str(write_strategy(folder, n)) for n in ("supportive_care", "rituximab_at_diagnosis")]


@pytest.fixture(scope="module")
def report(strategies, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", *strategies, *FAST, "--out", str(out)]) == 0
    return out


# --------------------------------------------------------------------------------------------- content


def test_report_has_every_section_in_order(report: Path) -> None:
    page = Page(report.read_text(encoding="utf-8"))
    assert page.h2 == list(SECTIONS.values())


def test_report_is_self_contained(report: Path) -> None:
    """No script, style sheet, frame or font is loaded from anywhere: every src/href is a data: URI or an
    anchor in the page, and a strict Content-Security-Policy forbids any request."""
    html = report.read_text(encoding="utf-8")
    page = Page(html)
    assert not page.tags & {"script", "link", "iframe", "object", "embed", "base"}
    for url in page.urls:
        assert url.startswith(("data:image/png;base64,", "#")), url[:80]
    assert not re.search(r"url\(|@import|https?://", html.split("</style>")[0])  # the style sheet
    csp = [m for m in page.meta if m.get("http-equiv") == "Content-Security-Policy"]
    assert csp and csp[0]["content"] == CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY


def test_every_figure_is_an_embedded_png_with_alt_text(report: Path) -> None:
    page = Page(report.read_text(encoding="utf-8"))
    assert len(page.images) == 4  # the patient, milestones, Rankin occupancy, strategies' outcomes
    for img in page.images:
        data = base64.b64decode(img["src"].split(",", 1)[1])
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(img.get("alt", "")) > 40
    alts = " ".join(img["alt"] for img in page.images)
    assert "By 10 years" in alts and "% dead" in alts  # alt texts carry the figures' numbers


def test_report_shows_the_icer_table_the_story_and_the_provenance(report: Path, strategies) -> None:
    html = report.read_text(encoding="utf-8")
    assert "ICER table" in html and "95% interval" in html
    assert "Patient 0 of the simulated cohort (seed 5)" in html
    for path in strategies:
        assert sim.load_scenario(path).sha256 in html
    assert sim.__version__ in html
    assert "--seed 5" in html
    assert str(Path(strategies[0]).parent) not in html  # no folder of the machine that made it


def test_one_scenario_has_no_strategies_section(strategies, tmp_path: Path) -> None:
    out = tmp_path / "one.html"
    assert main(["report", strategies[0], "--patients", "30", "--out", str(out)]) == 0
    page = Page(out.read_text(encoding="utf-8"))
    assert SECTIONS["strategies"] not in page.h2
    assert page.h2 == [h for k, h in SECTIONS.items() if k != "strategies"]


def test_parameter_table_lists_every_parameter_with_its_distribution_and_source(tmp_path: Path) -> None:
    scenario = sim.load_scenario(bundled_scenario_path("supportive_care.toml"))
    rows = parameter_rows(scenario)
    assert [r["path"] for r in rows] == list(scenario.parameters())
    by_path = {r["path"]: r for r in rows}
    assert by_path["population.p_male"]["distribution"] == "beta (α 104, β 29)"
    assert by_path["population.p_male"]["source"].startswith("aotsuka2024")
    assert distribution_text(scenario.parameters()["population.age_onset_min"]).startswith("fixed")
    assert not parameter_differences(scenario, scenario)
    changed = tmp_path / "changed.toml"
    changed.write_text(
        f'extends = "{bundled_scenario_path("supportive_care.toml").as_posix()}"\n[population]\n'
        'p_male = { value = 0.7, dist = "fixed", source = "assumption ⚠: a test" }\n'
    )
    differ = parameter_differences(scenario, sim.load_scenario(changed))
    assert [(r["path"], r["value"], r["reference_value"]) for r in differ] == [
        ("population.p_male", "0.7", "0.782")
    ]


# --------------------------------------------------------------------------------------------- writing


def test_rerun_with_force_gives_byte_identical_page(report: Path, strategies, capsys) -> None:
    before = report.read_bytes()
    status, _out, err = run_report(capsys, *strategies, *FAST, "--out", str(report))
    assert status == 2 and "exists" in err and "--force" in err
    assert report.read_bytes() == before
    status, _out, err = run_report(capsys, *strategies, *FAST, "--out", str(report), "--force")
    assert status == 0, err
    assert report.read_bytes() == before  # same seed, same page (no timestamps)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch) -> None:
    """The page is written to a temporary file and renamed into place: a failure while writing (here the
    flush to disk) leaves the old file untouched and no temporary file behind."""
    out = tmp_path / "report.html"
    out.write_text("old page")

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(out, "new page", force=True)
    assert out.read_text() == "old page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    monkeypatch.undo()
    with pytest.raises(OutputDirError, match="--force"):
        atomic_write_text(out, "new page")
    atomic_write_text(out, "new page", force=True)
    assert out.read_text() == "new page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


@pytest.mark.parametrize(
    ("make_args", "fragment"),
    [
        (lambda s, d: [s[0], "--out", str(d / "missing" / "r.html")], "does not exist"),
        (lambda s, d: [s[0], "--out", str(d)], "is a directory"),
        (lambda s, d: [str(d / "nope.toml"), "--out", str(d / "r.html")], "nope.toml"),
        (lambda s, d: [s[0], s[0], "--out", str(d / "r.html")], "more than once"),
        (lambda s, d: [s[0], "--patients", "10", "--id", "10", "--out", str(d / "r.html")], "--id 10"),
        (lambda s, d: [s[0], "--patients", "0", "--out", str(d / "r.html")], "--patients"),
    ],
)
def test_bad_input_exits_2_before_simulating(strategies, tmp_path, capsys, monkeypatch, make_args, fragment):
    import sim.run.runner

    def no_simulation(*args, **kwargs):
        raise AssertionError("simulated despite bad input")

    monkeypatch.setattr(sim.run.runner, "simulate", no_simulation)
    status, _out, err = run_report(capsys, *make_args(strategies, tmp_path))
    assert status == 2, err
    assert fragment in err and "Traceback" not in err
    assert not (tmp_path / "r.html").exists()


# --------------------------------------------------------------------------------------------- browser


def chromium(*args: str, page: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="antimag-chromium-")
    try:
        return subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                *args,
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def requests_from_page(net_log: Path) -> list[str]:
    """URLs the page itself asked for (its requests carry the file:// network isolation key; the browser's
    own background requests do not)."""
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        e["params"]["url"]
        for e in log["events"]
        if e["type"] == start_job and "file://" in str(e.get("params", {}).get("network_isolation_key", ""))
    ]


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium (Debian package 'chromium') is not installed")
def test_report_renders_in_chromium_without_any_request(report: Path, tmp_path: Path) -> None:
    """Opened in headless Chromium: the page renders (many non-white pixels), every section heading is in
    the rendered DOM, and the network log holds no request made by the page. A control page with one
    remote image shows that such a request would be caught."""
    import matplotlib.image

    shot, log = tmp_path / "shot.png", tmp_path / "net.json"
    proc = chromium(f"--screenshot={shot}", "--window-size=1280,2400", f"--log-net-log={log}", page=report)
    assert shot.exists(), proc.stderr[-2000:]
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert np.mean(pixels.min(axis=2) < 0.9) > 0.05  # text and figures, not a blank page
    assert requests_from_page(log) == []

    dom = chromium("--dump-dom", page=report).stdout
    for heading in SECTIONS.values():
        assert f">{heading.replace(chr(39), '&#39;')}</h2>" in dom or f">{heading}</h2>" in dom, heading

    control = tmp_path / "control.html"
    control.write_text('<!DOCTYPE html><img src="http://127.0.0.1:9/x.png" alt="remote">')
    chromium(f"--log-net-log={log}", "--dump-dom", page=control)
    assert requests_from_page(log) == ["http://127.0.0.1:9/x.png"]
