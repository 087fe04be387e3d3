"""Experiment trackers: the Tracker protocol, NullTracker, and WandbTracker (the only wandb import).

The run dir (metrics.jsonl, summary.json) is always written by the train loop and is the source
of truth; a tracker mirrors it. W&B's mode comes from --wandb-mode, else WANDB_MODE, else online when a W&B key is found and
offline (with a line saying how to sync) when not, so a run never waits at W&B's login prompt.
"""

from __future__ import annotations

import contextlib
import netrc
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import torch

from infogan_bench.config import RunConfig
from infogan_bench.errors import ReportError, describe
from infogan_bench.rundir import atomic_save, weights_only
from infogan_bench.scoring.metrics import WANDB_SUMMARIES

RUN_ID_FILE = "wandb_run_id"
INIT_TIMEOUT_S = (
    30  # W&B unreachable online: give up after this and log offline (W&B's default: 90)
)
RUN_DIR_FILES = ("config.yaml", "metrics.jsonl", "summary.json", "samples/*.png")


class Tracker(Protocol):
    lost: str | None  # what the tracker failed to record ("W&B log from step N"), else None

    def log(self, metrics: dict[str, Any], step: int) -> None:
        """Record one metrics.jsonl line."""

    def log_images(self, paths: list[Path], step: int) -> None:
        """Record sample grids (PNG files)."""

    def log_confusion(self, confusion: list[list[int]], step: int) -> None:
        """Record the matched confusion matrix (rows: true label; columns: matched label)."""

    def log_checkpoints(self, folder: Path) -> None:
        """Keep the run's last and best checkpoints (last.pt, best.pt in `folder`)."""

    def finish(self, summary: dict[str, Any], preempted: bool = False) -> None:
        """Record the final summary and close the run; preempted: stopped by a signal, to resume."""


class NullTracker:
    """Tracking off: the run dir alone holds the results."""

    lost = None

    def log(self, metrics: dict[str, Any], step: int) -> None:
        pass

    def log_images(self, paths: list[Path], step: int) -> None:
        pass

    def log_confusion(self, confusion: list[list[int]], step: int) -> None:
        pass

    def log_checkpoints(self, folder: Path) -> None:
        pass

    def finish(self, summary: dict[str, Any], preempted: bool = False) -> None:
        pass


def has_wandb_key() -> bool:
    """A W&B API key in WANDB_API_KEY or in ~/.netrc (where `wandb login` keeps it)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        return netrc.netrc(os.environ.get("NETRC")).authenticators(host or "") is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def wandb_silent() -> bool:
    """W&B's own console lines (its banner, warnings, run history and summary) are off unless
    WANDB_SILENT is set to false: a run's last lines are the suite's."""
    return os.environ.get("WANDB_SILENT", "true").lower() not in ("false", "0", "no")


def wandb_mode(config: RunConfig) -> str:
    """--wandb-mode, else WANDB_MODE, else online with a key and offline without: never a prompt."""
    return resolved_mode(config.wandb_mode)


def wandb_run_name(config: RunConfig) -> str:
    """The W&B run name: the variant (the recipe's non-default fields) and the seed."""
    return f"{config.variant}-seed={config.seed}"


class WandbTracker:
    """One W&B run per run dir, grouped by variant; --resume continues the same W&B run id.

    Under a W&B sweep agent the agent's project, entity and run id are used as they are.
    """

    lost: str | None = None
    step = 0  # the last step handed to the tracker

    def __init__(self, config: RunConfig, run_dir: Path) -> None:
        import wandb

        self.wandb = wandb
        wandb.setup(wandb.Settings(silent=wandb_silent()))  # its console, warnings included
        self.run_dir = run_dir
        self.upload_checkpoints = config.upload_checkpoints
        under_agent = bool(os.environ.get("WANDB_SWEEP_ID"))
        init_args: dict[str, Any] = dict(
            project=None if under_agent else config.wandb_project,
            entity=None if under_agent else config.wandb_entity or None,
            group=config.wandb_group or config.variant,
            name=wandb_run_name(config),
            tags=[t.strip() for t in config.tags.split(",") if t.strip()],
            config=config.to_dict(),
            dir=str(run_dir),
            id=_run_id(run_dir),
            resume="allow",
            job_type="train",
            settings=wandb.Settings(init_timeout=INIT_TIMEOUT_S, silent=wandb_silent()),
        )
        mode = wandb_mode(config)
        self.offline = mode == "offline"
        if config.wandb_mode == "auto" and mode == "offline" and not os.environ.get("WANDB_MODE"):
            print(
                f"infogan-bench: no W&B key found; logging offline under {run_dir}/wandb - "
                f"sync later with: wandb sync {run_dir}/wandb/offline-run-*",
                file=sys.stderr,
            )
        try:
            self.run = wandb.init(mode=mode, **init_args)
        except Exception as err:  # no API key, or W&B unreachable: keep training, offline
            if mode != "online":
                raise
            print(
                f"infogan-bench: W&B online failed ({describe(err)}); logging offline - "
                f"sync later with: wandb sync {run_dir}/wandb/offline-run-*",
                file=sys.stderr,
            )
            self.run = wandb.init(mode="offline", **init_args)
            self.offline = True
        for name, summary in WANDB_SUMMARIES.items():
            self.run.define_metric(name, summary=summary)

    def _safely(self, call: Callable[[], object], step: int | None = None) -> None:
        """Make one W&B call; if W&B fails (its service killed, its socket lost), warn once,
        stop calling it and keep training: the run dir holds every record anyway."""
        if step is not None:
            self.step = step
        if self.lost is not None:
            return
        try:
            call()
        except Exception as err:
            self.lost = f"W&B log from step {self.step}"
            print(
                f"infogan-bench: warning: W&B stopped working at step {self.step} "
                f"({describe(err)}); training goes on and the run dir keeps "
                f"everything, but the {self.lost} on is lost",
                file=sys.stderr,
            )

    def log(self, metrics: dict[str, Any], step: int) -> None:
        self._safely(lambda: self.run.log(metrics, step=step), step)

    def log_images(self, paths: list[Path], step: int) -> None:
        images = lambda: {f"samples/{p.stem}": self.wandb.Image(str(p)) for p in paths}  # noqa: E731
        self._safely(lambda: self.run.log(images(), step=step), step)

    def log_confusion(self, confusion: list[list[int]], step: int) -> None:
        """W&B's confusion-matrix plot, fed one (label, matched label) pair per counted image."""
        n = len(confusion)
        cells = [
            (true, matched, count)
            for true in range(n)
            for matched, count in enumerate(confusion[true])
        ]
        y_true = [true for true, _, count in cells for _ in range(count)]
        preds = [matched for _, matched, count in cells for _ in range(count)]
        plot = lambda: self.wandb.plot.confusion_matrix(  # noqa: E731
            y_true=y_true,
            preds=preds,
            class_names=[str(k) for k in range(n)],
            title="true label vs Q's category (Hungarian-matched to a label)",
        )
        self._safely(lambda: self.run.log({"cat_confusion": plot()}, step=step), step)

    def log_checkpoints(self, folder: Path) -> None:
        """last.pt and best.pt as versions of one model Artifact, aliased `last` and `best`
        (one version with both when best is last): by default their G and D/Q weights as
        `model.pt`; with upload_checkpoints=full the resumable files themselves."""
        if self.upload_checkpoints == "none":
            return
        states = {
            alias: torch.load(folder / f"{alias}.pt", map_location="cpu", weights_only=True)
            for alias in ("last", "best")
            if (folder / f"{alias}.pt").exists()
        }
        by_step: dict[int, list[str]] = {}  # step -> its aliases
        for alias, state in states.items():
            by_step.setdefault(int(state["step"]), []).append(alias)
        for aliases in by_step.values():
            state = states[aliases[0]]
            self._safely(lambda a=aliases, s=state: self._log_model(folder, a, s))

    def _log_model(self, folder: Path, aliases: list[str], state: dict[str, Any]) -> None:
        artifact = self.wandb.Artifact(f"model-{self.run.id}", type="model")
        if self.upload_checkpoints == "full":
            artifact.add_file(str(folder / f"{aliases[0]}.pt"), name=f"{aliases[0]}.pt")
        else:
            lean = folder / "model.pt.upload"
            atomic_save(weights_only(state), lean)
            try:
                artifact.add_file(str(lean), name="model.pt")  # copied into W&B's staging
            finally:
                lean.unlink(missing_ok=True)
        self.run.log_artifact(artifact, aliases=aliases)

    def finish(self, summary: dict[str, Any], preempted: bool = False) -> None:
        self._safely(lambda: self._finish(summary, preempted))
        if self.lost is not None:  # W&B's exit hook would fail again, printing a traceback
            with contextlib.suppress(Exception):
                self.wandb.teardown()  # unhooks it first, then fails to reach the service

    def _finish(self, summary: dict[str, Any], preempted: bool) -> None:
        if preempted:
            self.run.mark_preempting()
        # metrics W&B summarises itself (max of mi_lower_bound, ...) keep that summary
        self.run.summary.update({k: v for k, v in summary.items() if k not in WANDB_SUMMARIES})
        for pattern in RUN_DIR_FILES:
            if any(self.run_dir.glob(pattern)):
                self.run.save(
                    str(self.run_dir / pattern), base_path=str(self.run_dir), policy="now"
                )
        self.run.finish(exit_code=0 if summary.get("status") == "finished" else 1)
        if self.offline and wandb_silent():  # W&B's own line about it is silenced
            offline = Path(self.run.dir).parent
            print(f"W&B: logged offline; sync with: wandb sync {offline}", file=sys.stderr)


def _run_id(run_dir: Path) -> str:
    """The W&B run id kept in the run dir, so a resumed run continues the same W&B run."""
    path = run_dir / RUN_ID_FILE
    if not path.exists():
        # under a W&B sweep agent, the run id is the one the agent was handed
        path.write_text((os.environ.get("WANDB_RUN_ID") or uuid.uuid4().hex[:12]) + "\n")
    return path.read_text().strip()


REPORT_FILES = ("*.md", "*.csv", "*.tex", "*.png")  # what a report's artifact holds


def resolved_mode(flag: str = "auto") -> str:
    """A W&B mode flag resolved: itself, else WANDB_MODE, else online with a key, offline without."""
    if flag != "auto":
        return flag
    return os.environ.get("WANDB_MODE") or ("online" if has_wandb_key() else "offline")


def publish_report(
    folder: Path,
    name: str,
    tables: dict[str, Any],
    headline: dict[str, Any],
    project: str,
    entity: str | None = None,
    sweep: str | None = None,
) -> str:
    """One W&B run of job type `report` named `name` (tagged with the sweep id): the tables
    (pandas DataFrames) as wandb.Tables, each PNG of `folder` as an image, the headline in the
    summary, and the folder's md/csv/tex/png as a `report` artifact (each publish a version).
    Returns where it went; raises ReportError with one line when W&B fails (`folder` untouched:
    W&B's own files go to the folder beside it, FOLDER/../wandb)."""
    import wandb

    mode = resolved_mode()
    wandb.setup(wandb.Settings(silent=wandb_silent()))
    try:
        run = wandb.init(
            project=project,
            entity=entity,
            name=name,
            job_type="report",
            tags=[sweep] if sweep else None,
            dir=str(folder.parent),
            mode=mode,
            settings=wandb.Settings(init_timeout=INIT_TIMEOUT_S, silent=wandb_silent()),
        )
        run.log({key: wandb.Table(dataframe=table) for key, table in tables.items()})
        images = sorted(folder.glob("*.png"))
        run.log({f"plots/{png.stem}": wandb.Image(str(png)) for png in images})
        run.summary.update(headline)
        artifact = wandb.Artifact(f"report-{name}", type="report")
        for pattern in REPORT_FILES:
            for path in sorted(folder.glob(pattern)):
                artifact.add_file(str(path), name=path.name)
        run.log_artifact(artifact)
        where = run.url if mode == "online" else run.dir
        run.finish()
    except Exception as err:
        with contextlib.suppress(Exception):
            wandb.teardown()
        raise ReportError(
            f"publishing to W&B failed ({describe(err)}); the report in {folder} is complete"
        ) from None
    if mode == "offline":
        offline = Path(where).parent
        return f"logged offline in {offline}; sync later with: wandb sync {offline}"
    return f"published to {where}"


def make_tracker(config: RunConfig, run_dir: Path) -> Tracker:
    if config.tracker == "none":
        return NullTracker()
    return WandbTracker(config, run_dir)


def wandb_api() -> Any:
    """W&B's public API client, for reading runs back (the report's --wandb input)."""
    import wandb

    return wandb.Api(timeout=30)


def write_back_scores(
    config: RunConfig, run_dir: Path, scores: dict[str, Any], prefix: str
) -> str | None:
    """Add `scores` (as PREFIX/key) to the summary of the run dir's W&B run, if it has one;
    offline, they go to the run dir's W&B files, which `wandb sync` uploads. Returns what W&B
    failed to record (with a one-line warning; the caller keeps the scores), else None."""
    id_path = run_dir / RUN_ID_FILE
    if config.tracker == "none" or not id_path.exists():
        return None
    import wandb

    try:
        run = wandb.init(
            project=config.wandb_project,
            entity=config.wandb_entity or None,
            id=id_path.read_text().strip(),
            resume="allow",
            dir=str(run_dir),
            mode=wandb_mode(config),
            settings=wandb.Settings(init_timeout=INIT_TIMEOUT_S),
        )
        run.summary.update({f"{prefix}/{k}": v for k, v in scores.items()})
        run.finish()
    except Exception as err:
        print(
            f"infogan-bench: warning: W&B failed ({describe(err)}); the scores are "
            f"in {run_dir}, not in the W&B run's summary",
            file=sys.stderr,
        )
        with contextlib.suppress(Exception):
            wandb.teardown()
        return f"W&B summary of {prefix} scores"
    return None
