"""Which of the model's modules run compiled, and how to run every one of them as Python.

The build (``setup.py``) compiles the modules of :data:`COMPILED_MODULES` with mypyc where it can (a C
compiler is there, the install is not editable and ``ANTIMAG_PURE_PYTHON`` is not set) and installs them
as plain Python otherwise.
A compiled module runs its own source operation for operation, with the same floating-point arithmetic
and the same calls into NumPy and SimPy, so results are byte-identical either way (the test suite
compares them); it only runs faster (benchmarks/README.md).

Setting the environment variable ``ANTIMAG_INTERPRETED=1`` before ``sim`` is imported runs the Python
source of these modules even where compiled ones are installed: for tracing and profiling them, for
patching their functions in an experiment, and for the comparison of the two.

This module imports nothing from the package: ``setup.py`` reads :data:`COMPILED_MODULES` from it before
the package is built.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

#: The modules compiled by the build: the patient's hot path (every event of every patient runs here).
COMPILED_MODULES = (
    "sim.model.process",
    "sim.model.treatments",
    "sim.model.strategy",
    "sim.model.outcomes",
    "sim.model.block",
)
#: Set (to anything but "" or "0") to run the Python source of :data:`COMPILED_MODULES`.
INTERPRETED_VARIABLE = "ANTIMAG_INTERPRETED"


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the ``.py`` file of a compiled module, ahead of the extension module beside it."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in COMPILED_MODULES:
            return None
        name = fullname.rpartition(".")[2] + ".py"
        for folder in path or ():
            source = os.path.join(folder, name)
            if os.path.isfile(source):
                return importlib.util.spec_from_file_location(fullname, source)
        return None


def interpreted_requested() -> bool:
    """Whether ``ANTIMAG_INTERPRETED`` asks for the Python source of the compiled modules."""
    return os.environ.get(INTERPRETED_VARIABLE, "") not in ("", "0")


def install_source_finder() -> None:
    """Import the compiled modules from their Python source from now on (see the module docstring).

    Must run before any of them is imported; ``sim/model/__init__.py`` calls it when
    ``ANTIMAG_INTERPRETED`` is set.
    """
    loaded = [name for name in COMPILED_MODULES if name in sys.modules]
    if loaded:
        raise RuntimeError(f"{', '.join(loaded)} already imported: set {INTERPRETED_VARIABLE} before")
    if not any(isinstance(finder, _SourceFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SourceFinder())


def compiled_modules() -> tuple[str, ...]:
    """The modules of :data:`COMPILED_MODULES` that this process runs compiled (imports them)."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    return tuple(
        name
        for name in COMPILED_MODULES
        if str(getattr(importlib.import_module(name), "__file__", "")).endswith(suffixes)
    )
