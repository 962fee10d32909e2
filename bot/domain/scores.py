"""A risk's score and its band, as on a 5 × 5 risk matrix.

The score is likelihood × impact, each 1–5, so it is one of the products 1–6, 8–10, 12, 15, 16,
20 and 25. The bands: **low** 1–4, **medium** 5–12, **high** 15–25. No product of two numbers
from 1 to 5 is 13 or 14 (or 7, 11, 17–19, 21–24), so the bands leave no gap: every score
that can occur falls in exactly one band. This is the one place that says so; cards, lists,
histories and exports ask :func:`band`.
"""

from __future__ import annotations

from enum import StrEnum


class Band(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


#: The highest score of each band (13 and 14 cannot occur: see the module's text).
LOW_MAX = 4
MEDIUM_MAX = 12


def band(score: int) -> Band:
    """The band of a score of 1–25: low 1–4, medium 5–12, high 15–25."""
    if not 1 <= score <= 25:
        raise ValueError(f"a risk score is 1-25, not {score}")
    if score <= LOW_MAX:
        return Band.LOW
    if score <= MEDIUM_MAX:
        return Band.MEDIUM
    return Band.HIGH


def score_text(likelihood: int | None, impact: int | None) -> str:
    """``12 (medium)``, or ``—`` while the risk is not scored."""
    if likelihood is None or impact is None:
        return "—"
    score = likelihood * impact
    return f"{score} ({band(score)})"
