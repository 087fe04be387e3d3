"""SIGTERM, SIGINT and SIGHUP (a cluster's time limit, Ctrl-C, a closed terminal or a dead sweep
runner) routed to a handler for a block."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


@contextmanager
def on_stop_signals(handler: Callable[[int], None]) -> Iterator[None]:
    """Call handler(signum) on SIGTERM/SIGINT/SIGHUP inside the block, then restore the previous
    handlers. A signal the caller ignores stays ignored (nohup's SIGHUP, a background job's
    SIGINT). Outside the main thread (where Python cannot set handlers) signals stay as they are."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: Any) -> None:
        handler(signum)

    caught = [s for s in STOP_SIGNALS if signal.getsignal(s) is not signal.SIG_IGN]
    previous = {s: signal.signal(s, handle) for s in caught}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
