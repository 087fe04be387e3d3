"""Experiment trackers: the Tracker protocol and NullTracker (W&B joins in the tracking issue)."""

from __future__ import annotations

from typing import Any, Protocol


class Tracker(Protocol):
    def log(self, metrics: dict[str, Any], step: int) -> None:
        """Record one metrics.jsonl line."""

    def finish(self, summary: dict[str, Any]) -> None:
        """Record the final summary and close the run."""


class NullTracker:
    """Tracking off: the run dir alone holds the results."""

    def log(self, metrics: dict[str, Any], step: int) -> None:
        pass

    def finish(self, summary: dict[str, Any]) -> None:
        pass
