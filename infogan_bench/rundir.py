"""The run dir on disk: config.yaml, metrics.jsonl, summary.json, checkpoints/, samples/."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import pickle
import shutil
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from infogan_bench.config import ConfigError, RunConfig, from_saved, load_yaml, save_yaml
from infogan_bench.errors import CheckpointError, DiskFullError, RunDirBusyError, first_line

CHECKPOINT_FORMAT = 1
MODEL_KEYS = (
    "format",
    "config",
    "step",
    "generator",
    "discriminator",
    "generator_ema",
)  # a weights-only file
if TYPE_CHECKING:  # torch is imported where a checkpoint is read or written: a sweep runner,
    pass  # `sweep status` and `report` read run dirs without it (~4 s a process)

FULL_BELOW = 4 * 2**20  # bytes free: a write that failed with less than this hit a full disk


class RunDir:
    """Paths and atomic writes for one run."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.config_path = self.path / "config.yaml"
        self.metrics_path = self.path / "metrics.jsonl"
        self.summary_path = self.path / "summary.json"
        self.checkpoints = self.path / "checkpoints"
        self.samples = self.path / "samples"
        self.lock_path = self.path / "run.lock"

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold an exclusive OS lock on the run dir while writing it; a second writer is refused.

        fcntl.flock: the kernel drops it when the holder exits, however it dies (SIGKILL too).
        """
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(
                f"run_dir: {self.path} is a file, not a folder; choose another --run-dir"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+") as handle:
            holder = _take_lock(handle)
            if holder is not None:
                raise RunDirBusyError(
                    f"run_dir: {self.path} is in use by another process (pid {holder}); "
                    "wait for it to finish or stop it"
                )
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def holder(self) -> str | None:
        """The pid of the process that holds the run dir's lock now, or None when it is free."""
        if not self.lock_path.is_file():
            return None
        with open(self.lock_path) as handle:
            return _take_lock(handle)  # closing the file releases a lock taken here

    def checkpoint_path(self, name: str = "last") -> Path:
        return self.checkpoints / f"{name}.pt"

    def holds_run(self) -> bool:
        return self.config_path.exists() or self.checkpoint_path().exists()

    def create(self, config: RunConfig) -> None:
        """Start a fresh run here; refuses to overwrite an earlier run's results."""
        if self.holds_run():
            raise ConfigError(
                f"run_dir: {self.path} already holds a run; pass --resume true to continue it "
                "or choose another --run-dir"
            )
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        self.samples.mkdir(exist_ok=True)
        save_yaml(config, self.config_path)
        self.metrics_path.write_text("")

    def load_config(self) -> RunConfig:
        if not self.config_path.exists():
            raise ConfigError(f"run_dir: no config.yaml in {self.path}; is it a run dir?")
        return from_saved(load_yaml(self.config_path))

    def append_metrics(self, record: dict[str, Any]) -> None:
        with self.metrics_path.open("a") as f:
            f.write(json.dumps(record) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        """The logged records; a torn last line (a write cut by a kill or a full disk) is
        dropped with a warning, a corrupt line before it is a CheckpointError."""
        if not self.metrics_path.exists():
            return []
        lines = [line for line in self.metrics_path.read_text().splitlines() if line.strip()]
        records = []
        for number, line in enumerate(lines, start=1):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                if number < len(lines):
                    raise CheckpointError(
                        f"{self.metrics_path} line {number} is corrupt; fix or delete that line"
                    ) from None
                warnings.warn(
                    f"{self.metrics_path}: dropped a torn last line (a write was cut off)",
                    stacklevel=2,
                )
        return records

    def truncate_metrics(self, after_step: int) -> None:
        """Drop lines logged after `after_step` (by a run killed after its last checkpoint)."""
        kept = [r for r in self.read_metrics() if r["step"] <= after_step]
        atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in kept))

    def read_summary(self) -> dict[str, Any]:
        """summary.json, or {} when there is none (or it is unreadable, e.g. cut by a full disk)."""
        return _read_json(self.summary_path)

    def rescore_path(self, checkpoint: str = "last") -> Path:
        """Where `infogan-bench evaluate` writes its scores of a checkpoint."""
        return self.path / f"eval_{checkpoint}.json"

    def read_rescore(self, checkpoint: str = "last") -> dict[str, Any]:
        """The scores at rescore_path, or {} as read_summary."""
        return _read_json(self.rescore_path(checkpoint))

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_text(self.summary_path, json.dumps(summary, indent=2, sort_keys=True) + "\n")

    def save_checkpoint(self, state: dict[str, Any], name: str = "last") -> None:
        """torch.save to a temp file, then rename: a kill mid-write never leaves a broken file."""
        atomic_save({"format": CHECKPOINT_FORMAT, **state}, self.checkpoint_path(name))

    def checkpoint_step(self, name: str = "last") -> int | None:
        """The step of a checkpoint, or None when there is none."""
        if not self.checkpoint_path(name).exists():
            return None
        return int(self.load_checkpoint(name)["step"])

    def load_checkpoint(self, name: str = "last") -> dict[str, Any]:
        """A checkpoint dict, on the CPU whatever device wrote it: loading copies what belongs on
        a device there (optimisers keep their step counters on the CPU, as Adam wants them)."""
        if not name or Path(name).name != name or name.startswith("."):
            raise CheckpointError(
                f"checkpoint name {name!r}: give a name in {self.checkpoints}, e.g. last or best"
            )
        path = self.checkpoint_path(name)
        if not path.exists():
            raise CheckpointError(
                f"no checkpoint at {path}; train first or pick another --checkpoint"
            )
        import torch

        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, OSError) as err:
            raise CheckpointError(
                f"checkpoint {path} is corrupt ({first_line(err)}); delete it and retrain"
            ) from None
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(
                f"{path} is not an infogan-bench checkpoint (format {CHECKPOINT_FORMAT})"
            )
        return state


def weights_only(state: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint dict without its optimiser and random states: G's and D/Q's weights, the
    config and step (about a third of the file: enough to sample and score, not to resume)."""
    return {k: v for k, v in state.items() if k in MODEL_KEYS}


def holds_only_weights(state: dict[str, Any]) -> bool:
    """A checkpoint dict made by weights_only: it can be sampled and scored, not resumed."""
    return "opt_g" not in state


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _temporary(path: Path) -> Path:
    """Where to write path's next version before renaming it into place: a reader sees the old
    file or the new one, never half; two processes writing it at once each use their own."""
    return path.with_suffix(f"{path.suffix}.{os.getpid()}.tmp")


def atomic_write_text(path: Path, text: str) -> None:
    """Replace path's text at once (see _temporary)."""
    with _replacing(path) as tmp:
        tmp.write_text(text)


def atomic_save(state: dict[str, Any], path: Path) -> None:
    """torch.save to a temp file, then rename: a kill mid-write never leaves a broken file."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    with _replacing(path) as tmp:
        torch.save(state, tmp)


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """The temporary file to write path's next version to; renamed into place when the write
    succeeds, removed when it fails. A full disk (ENOSPC) becomes a DiskFullError that names
    path and about how much it needs (its old size, or what was written before the disk filled)."""
    tmp = _temporary(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as err:
        written = tmp.stat().st_size if tmp.exists() else 0
        # torch's zip writer reports a full disk as a RuntimeError ("unexpected pos"), not ENOSPC
        disk_full = (isinstance(err, OSError) and err.errno == errno.ENOSPC) or (
            isinstance(err, RuntimeError) and shutil.disk_usage(path.parent).free < FULL_BELOW
        )
        if written:  # frees its space now, though the failed writer may still hold it open
            os.truncate(tmp, 0)
        tmp.unlink(missing_ok=True)
        if disk_full:
            old = path.stat().st_size if path.exists() else 0
            free = shutil.disk_usage(path.parent).free
            raise DiskFullError(path, max(old, written), free) from None
        raise


def _take_lock(handle: IO[str]) -> str | None:
    """Take the exclusive lock on an open run.lock without waiting: None when taken, else the
    holder's pid as it wrote it there."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        return handle.read().strip() or "unknown"
    return None
