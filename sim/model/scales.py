"""Clinical outcome scales as pure functions of the latent demyelination burden.

Every scale is a monotone step function of the burden ``b`` (0 = none, 1 = maximal), read against the
scenario's milestone thresholds, with a patient-level factor (``arm_factor``, ``sensory_factor``,
``motor_factor`` in ``1 ± symptoms.scale_variation``) where the literature reports wide variation between
patients at the same stage. Because each is monotone in ``b`` and the burden never falls without an
effective treatment, no scale improves in natural history. Definitions (docs/model.md §Scales):

* **modified Rankin (0–6)**: 1 from onset; 2 at ``mrs2``; 3 (disabled) at ``disabled``; 4 at ``mrs4``; 5 at
  ``mrs5``; 6 when dead.
* **INCAT leg (0–5)**: 0 before ``ataxia``; 1 (walking affected, independent) from ``ataxia``; 2 (unilateral
  support) from ``walking_aid``; 3 (bilateral support) from ``mrs4``; 4 (wheelchair for 10 m) half-way
  from ``mrs4`` to ``mrs5``; 5 (wheelchair bound) from ``mrs5``.
* **INCAT arm (0–5)**: 0 before ``sensory_hands``; 1 from ``sensory_hands``; 2 when hand weakness or
  tremor affects tasks (the patient's arm burden past ``weakness``, or tremor present for a burden rise of
  0.1); 3 from ``mrs4``; 4 from ``mrs5``; 5 at burden 1. Arm burden is ``b`` scaled by ``arm_factor`` above
  the hands threshold.
* **INCAT sensory sum score (0–20)**: ``round(20 · b · sensory_factor)`` clipped to 0–20.
* **MRC sum score (0–60)**: 60 until ``weakness``; then falls linearly to 60 − 40·``motor_factor`` at
  burden 1 (distal weakness dominates; proximal strength is kept in most patients).
* **ONLS arm (0–5)**: the grades of the Overall Neuropathy Limitations Scale arm section (graham2006)
  describe the same steps as the INCAT arm scale (minor symptoms; function affected; at least one function
  prevented; all prevented; no purposeful movement), so it is read from the same arm burden.
* **ONLS leg (0–7)**: 0 before ``ataxia``; 1 (walking, stairs or running affected, gait normal) from
  ``ataxia``; 2 (gait looks abnormal, walks independently) from ``weakness``; 3 (unilateral support) from
  ``walking_aid``; 4 (bilateral support) from ``mrs4``; 5 (wheelchair for 10 m, can stand with help)
  half-way from ``mrs4`` to ``mrs5``; 6 (wheelchair, cannot stand) from ``mrs5``; 7 (no purposeful leg
  movement) at burden 1. ONLS total = arm + leg (0–12).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

TREMOR_TASK_BURDEN = 0.1


def walking_affected(th: SimpleNamespace, ataxia_burden: np.ndarray | None) -> np.ndarray | float:
    """Burden from which walking is affected: sensory ataxia onset, or distal weakness in a patient without
    sensory ataxia (NaN); ``None`` (no phenotype given): the scenario's ``ataxia`` threshold for everyone."""
    if ataxia_burden is None:
        return th.ataxia
    return np.fmin(np.asarray(ataxia_burden, dtype=float), th.weakness)


def mrs(b: np.ndarray, th: SimpleNamespace, disabled_burden: np.ndarray | None = None) -> np.ndarray:
    """Modified Rankin 1–5; ``disabled_burden``: the patient's own level of mRS 3 (default: threshold)."""
    b = np.asarray(b, dtype=float)
    disabled = th.disabled if disabled_burden is None else np.asarray(disabled_burden, dtype=float)
    cuts = (th.mrs2, disabled, th.mrs4, th.mrs5)
    return 1 + sum((b >= c).astype(int) for c in cuts)


def incat_leg(b: np.ndarray, th: SimpleNamespace, ataxia_burden: np.ndarray | None = None) -> np.ndarray:
    b = np.asarray(b, dtype=float)
    cuts = (walking_affected(th, ataxia_burden), th.walking_aid, th.mrs4, (th.mrs4 + th.mrs5) / 2, th.mrs5)
    return sum((b >= c).astype(int) for c in cuts)


def incat_arm(
    b: np.ndarray, th: SimpleNamespace, arm_factor: np.ndarray, tremor_burden: np.ndarray
) -> np.ndarray:
    b = np.asarray(b, dtype=float)
    arm_b = th.sensory_hands + (b - th.sensory_hands) * np.asarray(arm_factor)
    tremor = np.asarray(tremor_burden, dtype=float)
    with np.errstate(invalid="ignore"):
        tremor_tasks = np.nan_to_num(b - tremor, nan=-1.0) >= TREMOR_TASK_BURDEN
    score = (b >= th.sensory_hands).astype(int)
    score += ((arm_b >= th.weakness) | tremor_tasks) & (b >= th.sensory_hands)
    score += (arm_b >= th.mrs4).astype(int) + (arm_b >= th.mrs5).astype(int) + (arm_b >= 1.0).astype(int)
    return np.minimum(score, 5)


def incat_sensory_sum(b: np.ndarray, sensory_factor: np.ndarray) -> np.ndarray:
    raw = np.rint(20.0 * np.asarray(b, dtype=float) * np.asarray(sensory_factor))
    return np.clip(raw, 0, 20).astype(int)


def onls_leg(b: np.ndarray, th: SimpleNamespace, ataxia_burden: np.ndarray | None = None) -> np.ndarray:
    """ONLS leg grade (0–7): finer than INCAT leg below the walking aid (stairs, running, abnormal gait)."""
    b = np.asarray(b, dtype=float)
    first = np.fmin(walking_affected(th, ataxia_burden), th.mrs2)  # stairs and running: from mRS 2 at latest
    cuts = (first, th.weakness, th.walking_aid, th.mrs4, (th.mrs4 + th.mrs5) / 2, th.mrs5, 1.0)
    return sum((b >= c).astype(int) for c in cuts)


def mrc_sum(b: np.ndarray, th: SimpleNamespace, motor_factor: np.ndarray) -> np.ndarray:
    b = np.asarray(b, dtype=float)
    frac = np.clip((b - th.weakness) / (1.0 - th.weakness), 0.0, 1.0)
    return np.clip(np.rint(60.0 - 40.0 * np.asarray(motor_factor) * frac), 0, 60).astype(int)


def all_scales(
    b: np.ndarray,
    th: SimpleNamespace,
    arm_factor: np.ndarray,
    sensory_factor: np.ndarray,
    motor_factor: np.ndarray,
    tremor_burden: np.ndarray,
    dead: np.ndarray | None = None,
    ataxia_burden: np.ndarray | None = None,
    disabled_burden: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Every scale at burden ``b`` (arrays broadcast together); ``dead`` sets mRS 6 and the others NaN.

    ``ataxia_burden`` (NaN: never ataxic) and ``disabled_burden`` are the patient's phenotype levels
    (``result.patients``); without them every patient follows the scenario's thresholds.
    """
    arm = incat_arm(b, th, arm_factor, tremor_burden)
    leg = incat_leg(b, th, ataxia_burden)
    out = {
        "incat_arm": arm,
        "incat_leg": leg,
        "incat_total": arm + leg,
        "incat_sensory": incat_sensory_sum(b, sensory_factor),
        "mrc_sum": mrc_sum(b, th, motor_factor),
        "mrs": mrs(b, th, disabled_burden),
    }
    onls = onls_leg(b, th, ataxia_burden)
    out["onls_arm"] = arm.copy()  # the same grades as INCAT arm (graham2006), kept as its own column
    out["onls_leg"] = onls
    out["onls_total"] = arm + onls
    if dead is not None and np.any(dead):
        dead = np.asarray(dead, dtype=bool)
        out = {k: np.where(dead, np.nan, v.astype(float)) for k, v in out.items()}
        out["mrs"] = np.where(dead, 6.0, out["mrs"])
    return out
