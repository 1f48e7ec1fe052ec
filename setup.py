"""Build step: compile the model's hot modules with mypyc where possible (everything else is in
pyproject.toml).

The modules of ``sim.model.compiled.COMPILED_MODULES`` are compiled to C extensions that run beside their
Python source; results are byte-identical to the interpreted modules, only faster. Where mypyc or a C
compiler is missing, in an editable install, or with ``ANTIMAG_PURE_PYTHON=1`` set, the package installs
as plain Python and works the same; ``metadata.json`` of a run names the modules that ran compiled
(``sim.model.compiled``).
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent


def compiled_sources() -> list[str]:
    """The source files to compile: those of ``sim.model.compiled.COMPILED_MODULES``, relative paths."""
    modules = runpy.run_path(str(HERE / "sim" / "model" / "compiled.py"))["COMPILED_MODULES"]
    return [str(Path(*name.split(".")).with_suffix(".py")) for name in modules]


def compiled_extensions() -> list:
    """The extension modules mypyc builds from :func:`compiled_sources`, or none (plain Python)."""
    if os.environ.get("ANTIMAG_PURE_PYTHON", "") not in ("", "0"):
        return []
    if "editable_wheel" in sys.argv:  # pip install -e: edits to the source take effect without a rebuild
        return []
    sources = compiled_sources()
    try:
        from mypyc.build import mypycify

        extensions = mypycify(
            ["--ignore-missing-imports", "--follow-imports=silent", *sources],
            opt_level="3",
            group_name="antimag_sim",
        )
    except (Exception, SystemExit) as exc:  # mypyc missing or the type check failed: plain Python
        print(f"antimag-sim: not compiling the model ({exc!r}); installing it as Python", file=sys.stderr)
        return []
    for extension in extensions:
        extension.optional = True  # no C compiler: setuptools warns and installs the Python modules
    return extensions


if __name__ == "__main__":  # as setuptools runs it (the tests import the functions above)
    setup(ext_modules=compiled_extensions())
