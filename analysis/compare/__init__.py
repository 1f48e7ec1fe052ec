"""``python -m analysis.compare A.toml B.toml ...``: a thin alias of ``antimag compare`` (see
:mod:`sim.cli.compare`). The comparison itself is made of the functions of :mod:`analysis.economics`,
:mod:`analysis.cea` and :mod:`analysis.dsa`."""
