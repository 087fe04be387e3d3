"""Where the suite caches what it computes once (decoded datasets, the domain classifier, Inception)."""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def cache_dir() -> Path:
    """INFOGAN_BENCH_CACHE, else ~/.cache/infogan_bench."""
    return Path(os.environ.get("INFOGAN_BENCH_CACHE", Path.home() / ".cache" / "infogan_bench"))


@contextmanager
def one_writer(path: Path) -> Iterator[None]:
    """Hold PATH.lock for the block that reads or computes the cache file at path: a second
    process that wants the same file waits for the first and then reads it, rather than spend
    the same CPU time again (two campaign lanes scoring their first runs at once). flock: the
    kernel drops the lock when its holder exits, however it dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another process to write {path}", file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
