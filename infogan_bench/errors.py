"""Every error a user can cause, each with a one-line message that says what to do.

Importing this module imports nothing heavy, so the CLI can catch these without torch.
"""

from __future__ import annotations


class InfoganBenchError(Exception):
    """Base of the errors the CLI prints as one line (exit code `exit_code`)."""

    exit_code = 2


class ConfigError(InfoganBenchError, ValueError):
    """A bad config value; the message is one line naming the field and what is allowed."""


class RunDirBusyError(ConfigError):
    """Another process holds the run dir's lock; the message names its pid."""


class DatasetError(InfoganBenchError, RuntimeError):
    """A dataset that is missing, corrupt or cannot be downloaded."""


class CheckpointError(InfoganBenchError, RuntimeError):
    """A checkpoint that is missing, corrupt, or from another run."""


class DiskFullError(InfoganBenchError, OSError):
    """A write ran out of space (ENOSPC); its temporary file is removed, the old file kept."""

    exit_code = 1

    def __init__(
        self, path: object, needed_bytes: int, free_bytes: int, resume_step: int | None = None
    ) -> None:
        self.path, self.needed_bytes, self.free_bytes = path, needed_bytes, free_bytes
        mb = lambda n: max(1, round(n / 2**20))  # noqa: E731
        self.reason = (
            f"disk full writing {path} (needs ~{mb(needed_bytes)} MB, {mb(free_bytes)} MB free)"
        )
        then = (
            "" if resume_step is None else f"; then --resume true continues from step {resume_step}"
        )
        more = mb(max(needed_bytes - free_bytes, 0))
        super().__init__(f"{self.reason}: free at least {more} MB on its disk{then}")


class FeatureError(InfoganBenchError, RuntimeError):
    """A feature extractor (domain classifier, Inception weights) that cannot be had."""


class SweepError(InfoganBenchError, ValueError):
    """A sweep YAML that cannot run, or a sweep folder that holds another sweep."""


class ReportError(InfoganBenchError):
    """A report that cannot be made (no runs found, ...)."""


class ScoringError(InfoganBenchError, ValueError):
    """A model that cannot be scored, e.g. one whose outputs are not finite."""


class NonFiniteLossError(InfoganBenchError, RuntimeError):
    """A loss or a weight became NaN or inf; the run stops and the last good checkpoint is kept."""

    exit_code = 1

    def __init__(self, message: str, step: int) -> None:
        super().__init__(message)
        self.step = step


class DWonError(InfoganBenchError, RuntimeError):
    """D had won for --stop-when-d-won steps in a row: the run stops as failed, its files kept."""

    exit_code = 1

    def __init__(self, message: str, step: int) -> None:
        super().__init__(message)
        self.step = step


class Interrupted(InfoganBenchError):
    """SIGTERM, SIGINT or SIGHUP stopped a run at the end of a step, after a checkpoint of it."""

    def __init__(self, signum: int, step: int) -> None:
        import signal

        self.signum, self.step = signum, step
        # the shell's convention: 143 for SIGTERM, 130 for SIGINT, 129 for SIGHUP
        self.exit_code = 128 + signum
        name = signal.Signals(signum).name
        super().__init__(f"{name} at step {step}: checkpoint written; continue with --resume true")


def first_line(err: BaseException) -> str:
    """The first line of an error's message, or its type's name when it has none."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def describe(err: BaseException) -> str:
    """'Type: first line of the message', or 'Type' when it has none."""
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0]}" if text else type(err).__name__


def hms(seconds: float) -> str:
    """A duration as h:mm:ss, for progress lines."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"
