"""ISO/IEC 30107-3 presentation-attack-detection metrics (APCER, BPCER, ACER, ROC, EER) in numpy.

Conventions used throughout:

- ``score`` is the probability that a presentation is live (bona fide); any finite real works,
  the [0, 1] range is not enforced.
- A presentation is *accepted as live* when ``score >= threshold``.
- ``is_live`` (N,) bool; ``attack`` (N,) str species: ``"none"`` for live, ``"print"``,
  ``"replay"``, ``"injection"``, ... for attacks (the same rule as ``manifest.csv``).
- APCER of a species = share of its attack presentations accepted as live; BPCER = share of
  bona fide presentations rejected. Raising the threshold lowers APCER and raises BPCER.

No live sample, NaN/inf scores, mismatched lengths or live/attack labels that disagree raise a
``ValueError``. A metric that needs attacks when there are none is NaN; a species with no
samples is simply absent from per-species dicts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

LIVE = "none"  # the attack "species" of a bona fide presentation
_TOL = 1e-12  # k/n computed in floating point must not miss an exact target such as 1/100


def check_inputs(
    scores: Any, is_live: Any, attack: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validated (scores, is_live, attack or None) arrays, or a ValueError naming the problem."""
    s = np.asarray(scores, dtype=float)
    lv = np.asarray(is_live)
    if s.ndim != 1 or lv.ndim != 1:
        raise ValueError(f"scores and is_live must be 1-D, got shapes {s.shape} and {lv.shape}")
    if len(s) != len(lv):
        raise ValueError(f"scores has {len(s)} entries but is_live has {len(lv)}")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"scores contain {int(np.sum(~np.isfinite(s)))} NaN or infinite values")
    lv = lv.astype(bool)
    a = None
    if attack is not None:
        a = np.asarray(attack).astype(str)
        if a.shape != s.shape:
            raise ValueError(f"scores has {len(s)} entries but attack has shape {a.shape}")
        bad = np.flatnonzero(lv != (a == LIVE))
        if len(bad):
            i = int(bad[0])
            raise ValueError(
                f"{len(bad)} samples where is_live disagrees with attack (live iff attack == "
                f"{LIVE!r}); first at index {i}: is_live={bool(lv[i])}, attack={a[i]!r}"
            )
    return s, lv, a


def _need_live(lv: np.ndarray) -> None:
    if not lv.any():
        raise ValueError("no live (bona fide) samples: BPCER and the ROC are undefined")


def _accepted(s: np.ndarray, threshold: float) -> np.ndarray:
    return s >= threshold


def _apcer_species(s: np.ndarray, a: np.ndarray, threshold: float) -> dict[str, float]:
    acc = _accepted(s, threshold)
    return {sp: float(acc[a == sp].mean()) for sp in sorted(set(a.tolist()) - {LIVE})}


def _bpcer(s: np.ndarray, lv: np.ndarray, threshold: float) -> float:
    # NaN rather than an error here so subset summaries (e.g. without IMU) can lack live samples.
    return float((~_accepted(s[lv], threshold)).mean()) if lv.any() else float("nan")


def wilson_interval(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval (95 % by default) of a share seen as k of n: where the true
    APCER or BPCER plausibly lies. 3 of 24 reads 12.5 % but is anywhere in 4.3–31 %, so two
    draws that differ by a few clips do not differ. (nan, nan) for n = 0.

    Wilson rather than k/n ± z·√(p(1−p)/n): that one collapses to [0, 0] at k = 0, exactly
    where a small attack set most needs a bound."""
    if n <= 0:
        return float("nan"), float("nan")
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    p, z2 = k / n, z * z
    mid = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # At k = 0 (k = n) the bound is exactly 0 (1); in floating point mid − half leaves ~1e-17.
    return (0.0 if k == 0 else float(mid - half)), (1.0 if k == n else float(mid + half))


def _max(d: dict[str, float]) -> float:
    return max(d.values()) if d else float("nan")


def apcer_per_species(scores: Any, is_live: Any, attack: Any, threshold: float) -> dict[str, float]:
    """Per attack species, the share of its presentations accepted as live (score >= threshold)."""
    s, _, a = check_inputs(scores, is_live, attack)
    assert a is not None
    return _apcer_species(s, a, threshold)


def apcer_max(scores: Any, is_live: Any, attack: Any, threshold: float) -> float:
    """Worst-species APCER (ISO/IEC 30107-3 reports the maximum over species); NaN if no attacks."""
    return _max(apcer_per_species(scores, is_live, attack, threshold))


def bpcer(scores: Any, is_live: Any, threshold: float) -> float:
    """Share of bona fide presentations rejected (score < threshold)."""
    s, lv, _ = check_inputs(scores, is_live)
    _need_live(lv)
    return _bpcer(s, lv, threshold)


def acer(scores: Any, is_live: Any, attack: Any, threshold: float) -> float:
    """(APCER + BPCER) / 2 with APCER the *worst* species, as ISO/IEC 30107-3 defines it.

    Averaging APCER over species instead would let a weak species hide behind easy ones.
    NaN when there are no attacks.
    """
    s, lv, a = check_inputs(scores, is_live, attack)
    _need_live(lv)
    assert a is not None
    return (_max(_apcer_species(s, a, threshold)) + _bpcer(s, lv, threshold)) / 2


def _thresholds(s: np.ndarray) -> np.ndarray:
    # Every distinct score, plus one just above the largest so the curve reaches "reject all".
    u = np.unique(s)
    return np.append(u, np.nextafter(u[-1], np.inf)) if len(u) else np.array([0.0])


def _share_at_or_above(sorted_vals: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Share of ``sorted_vals`` >= each threshold (NaN if there are no values)."""
    if len(sorted_vals) == 0:
        return np.full(len(t), np.nan)
    return 1.0 - np.searchsorted(sorted_vals, t, side="left") / len(sorted_vals)


def _roc(s: np.ndarray, lv: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = _thresholds(s)
    apcer = _share_at_or_above(np.sort(s[~lv]), t)
    bpcer_ = 1.0 - _share_at_or_above(np.sort(s[lv]), t)
    return t, apcer, bpcer_


def roc_curve(scores: Any, is_live: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds, APCER, BPCER) at every distinct threshold, ascending, all attacks pooled.

    The first threshold (the smallest score) accepts everything: APCER 1, BPCER 0; the last one
    (just above the largest score) rejects everything: APCER 0, BPCER 1. APCER is NaN throughout
    when there are no attacks.
    """
    s, lv, _ = check_inputs(scores, is_live)
    _need_live(lv)
    return _roc(s, lv)


def _auc(s: np.ndarray, lv: np.ndarray) -> float:
    n_l, n_a = int(lv.sum()), int((~lv).sum())
    if n_l == 0 or n_a == 0:
        return float("nan")
    # Mann–Whitney U from mid-ranks: ties between a live and an attack count one half.
    order = np.argsort(s, kind="mergesort")
    _, start, counts = np.unique(s[order], return_index=True, return_counts=True)
    ranks = np.empty(len(s))
    ranks[order] = np.repeat(start + (counts + 1) / 2.0, counts)
    return float((ranks[lv].sum() - n_l * (n_l + 1) / 2) / (n_l * n_a))


def auc(scores: Any, is_live: Any) -> float:
    """P(a random live scores above a random attack), ties one half; NaN if there are no attacks."""
    s, lv, _ = check_inputs(scores, is_live)
    _need_live(lv)
    return _auc(s, lv)


def _eer(s: np.ndarray, lv: np.ndarray) -> tuple[float, float]:
    if lv.all() or not lv.any():
        return float("nan"), float("nan")
    t, ap, bp = _roc(s, lv)
    d = ap - bp  # non-increasing from +1 (accept all) to -1 (reject all), so it crosses once
    k = int(np.argmax(d <= 0))
    if d[k] == 0 or k == 0:
        return float(ap[k]), float(t[k])
    f = d[k - 1] / (d[k - 1] - d[k])  # linear interpolation between the two bracketing points
    return float(ap[k - 1] + f * (ap[k] - ap[k - 1])), float(t[k - 1] + f * (t[k] - t[k - 1]))


def eer(scores: Any, is_live: Any) -> tuple[float, float]:
    """(EER, threshold) where pooled APCER and BPCER cross, linearly interpolated.

    Both the rate and the threshold are interpolated between the last ROC point with
    APCER > BPCER and the first with APCER <= BPCER. (NaN, NaN) when there are no attacks.
    """
    s, lv, _ = check_inputs(scores, is_live)
    _need_live(lv)
    return _eer(s, lv)


def _bpcer_at_apcer(
    s: np.ndarray, lv: np.ndarray, a: np.ndarray, target: float
) -> tuple[float, float]:
    if not lv.any() or lv.all():
        return float("nan"), float("nan")
    t = _thresholds(s)
    species = sorted(set(a.tolist()) - {LIVE})
    worst = np.max([_share_at_or_above(np.sort(s[a == sp]), t) for sp in species], axis=0)
    # Worst-species APCER is non-increasing in the threshold and BPCER non-decreasing, so the
    # first (lowest) threshold meeting the target also gives the lowest BPCER. The last
    # threshold rejects everything (APCER 0), so one always exists.
    k = int(np.argmax(worst <= target + _TOL))
    return _bpcer(s, lv, float(t[k])), float(t[k])


def bpcer_at_apcer(scores: Any, is_live: Any, attack: Any, target: float) -> tuple[float, float]:
    """(lowest BPCER, its threshold) subject to worst-species APCER <= ``target``.

    Candidate thresholds are the distinct scores plus one just above the largest, so the
    threshold returned is the lowest candidate whose worst-species APCER meets the target;
    any threshold between the previous candidate (exclusive) and it gives the same rates.
    (NaN, NaN) when there are no attacks.
    """
    if not 0.0 <= target <= 1.0:
        raise ValueError(f"target APCER must be in [0, 1], got {target}")
    s, lv, a = check_inputs(scores, is_live, attack)
    _need_live(lv)
    assert a is not None
    return _bpcer_at_apcer(s, lv, a, target)


def calibrate_threshold(
    scores: Any, is_live: Any, attack: Any, rule: str = "apcer", target: float = 0.01
) -> float:
    """Operating threshold chosen on the VALIDATION split (never on test) by a fixed rule.

    - ``rule="apcer"``: the lowest threshold whose worst-species APCER <= ``target`` (see
      :func:`bpcer_at_apcer`); it keeps BPCER as low as that APCER allows.
    - ``rule="eer"``: the interpolated EER threshold of pooled APCER/BPCER (``target`` unused).

    Few samples: with n attacks of a species its APCER moves in steps of 1/n, so the rule
    really enforces floor(target * n) / n. With 50 attacks the resolution is 2%, and a 1%
    target means *no* attack of that species may be accepted, which pushes the threshold just
    above that species' highest score. Even a validation APCER of 0 only bounds the true APCER
    at about 3/n (95% "rule of three"), so a species needs roughly 300 attacks before a 1%
    target is meaningful.
    """
    if rule == "apcer":
        return bpcer_at_apcer(scores, is_live, attack, target)[1]
    if rule == "eer":
        return eer(scores, is_live)[1]
    raise ValueError(f"unknown calibration rule {rule!r}; expected 'apcer' or 'eer'")


def _summary(s: np.ndarray, lv: np.ndarray, a: np.ndarray, threshold: float) -> dict[str, Any]:
    per = _apcer_species(s, a, threshold)
    ap_max, bp = _max(per), _bpcer(s, lv, threshold)
    e, e_t = _eer(s, lv)
    acc = _accepted(s, threshold)
    out: dict[str, Any] = {
        "threshold": float(threshold),
        "n_live": int(lv.sum()),
        "n_attack": int((~lv).sum()),
        "n_per_species": {sp: int(np.sum(a == sp)) for sp in per},
        "apcer_per_species": per,
        "apcer_max": ap_max,
        "apcer_pooled": float(_accepted(s[~lv], threshold).mean()) if (~lv).any() else np.nan,
        "bpcer": bp,
        "acer": (ap_max + bp) / 2,
        # 95 % Wilson intervals of the shares above: what n clips can tell apart.
        "bpcer_ci95": list(wilson_interval(int((~acc[lv]).sum()), int(lv.sum()))),
        "apcer_ci95_per_species": {
            sp: list(wilson_interval(int(acc[a == sp].sum()), int((a == sp).sum()))) for sp in per
        },
        "auc": _auc(s, lv),
        # Live versus one species at a time: which attacks the scores separate, threshold-free.
        "auc_per_species": {sp: _auc(s[lv | (a == sp)], lv[lv | (a == sp)]) for sp in per},
        "eer": e,
        "eer_threshold": e_t,
    }
    for pct in (1, 5):
        b, t = _bpcer_at_apcer(s, lv, a, pct / 100)
        out[f"bpcer_at_apcer_{pct}pct"] = b
        out[f"threshold_at_apcer_{pct}pct"] = t
    return out


def summarize(
    scores: Any, is_live: Any, attack: Any, threshold: float, has_imu: Any = None
) -> dict[str, Any]:
    """Every metric above at ``threshold``, plus the same for the with/without-IMU subsets.

    Keys: threshold, n_live, n_attack, n_per_species, apcer_per_species, apcer_max,
    apcer_pooled, bpcer, acer, bpcer_ci95 and apcer_ci95_per_species (95 % Wilson intervals,
    [low, high]), auc, auc_per_species, eer, eer_threshold, bpcer_at_apcer_{1,5}pct and
    threshold_at_apcer_{1,5}pct; with ``has_imu`` (N,) bool also "with_imu" and "without_imu",
    each a dict of the same keys. A subset may lack a class, so its undefined metrics are NaN.
    """
    s, lv, a = check_inputs(scores, is_live, attack)
    _need_live(lv)
    assert a is not None
    out = _summary(s, lv, a, threshold)
    if has_imu is not None:
        imu = np.asarray(has_imu).astype(bool)
        if imu.shape != s.shape:
            raise ValueError(f"scores has {len(s)} entries but has_imu has shape {imu.shape}")
        out["with_imu"] = _summary(s[imu], lv[imu], a[imu], threshold)
        out["without_imu"] = _summary(s[~imu], lv[~imu], a[~imu], threshold)
    return out
