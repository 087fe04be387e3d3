"""Where the suite caches what it computes once (decoded datasets, the domain classifier, Inception)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """INFOGAN_BENCH_CACHE, else ~/.cache/infogan_bench."""
    return Path(os.environ.get("INFOGAN_BENCH_CACHE", Path.home() / ".cache" / "infogan_bench"))
