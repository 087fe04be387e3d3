""" "D won": the phase in which D separates real from generated images almost perfectly.

Each step logs d_separation, the share of (real, generated) pairs of its batch that D's logits
rank right (the batch's AUC; rank-based, so it reads the same under the non-saturating and the
hinge loss). A log interval is in the phase when its mean d_separation is at least
D_WON_SEPARATION: at most 2 % of the pairs misranked, where D's gradient tells G little.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

D_WON_SEPARATION = 0.98


@dataclass
class DWonPhase:
    """The phase over a run's log intervals: steps in it, its last step, the current streak."""

    steps: int = 0  # steps of the intervals in the phase
    last_step: int | None = None  # the last step of the last interval in it
    since: int | None = None  # first step of the current streak of intervals in it
    logged_to: int = 0  # the last interval's step

    def add(self, record: dict[str, Any]) -> None:
        """Count one metrics row (step, d_separation); sets its d_won to 1.0 or 0.0."""
        step = record["step"]
        won = record.get("d_separation", 0.0) >= D_WON_SEPARATION
        record["d_won"] = float(won)
        if won:
            self.steps += step - self.logged_to
            self.last_step = step
            self.since = self.logged_to + 1 if self.since is None else self.since
        else:
            self.since = None
        self.logged_to = step

    def streak(self) -> int:
        """Steps D has been winning without a break, up to the last interval."""
        return 0 if self.since is None else self.logged_to - self.since + 1

    def summary(self) -> dict[str, int | None]:
        return {"d_won_steps": self.steps, "d_won_last_step": self.last_step}

    @classmethod
    def of(cls, records: Iterable[dict[str, Any]]) -> DWonPhase:
        """The phase of the rows already in metrics.jsonl (a resumed run's start)."""
        phase = cls()
        for record in records:
            if "d_separation" in record:
                phase.add(dict(record))
        return phase
