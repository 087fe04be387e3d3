"""Shared tiny configs: the embedded digits set, small batches, a handful of steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infogan_bench.config import RunConfig

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def tiny_config(tmp_path: Path):
    """Factory of a small, fast RunConfig in a fresh run dir under tmp_path."""

    def make(**overrides: Any) -> RunConfig:
        values: dict[str, Any] = dict(
            dataset="digits",
            batch_size=16,
            steps=4,
            log_every=2,
            eval_every=0,
            tracker="none",
            score_samples=0,
            checkpoint_every=2,
            device="cpu",
            run_dir=str(tmp_path / "run"),
            progress=False,
        )
        values.update(overrides)
        return RunConfig(**values)

    return make
