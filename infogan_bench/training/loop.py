"""The InfoGAN training loop: train(config) -> summary dict, with run dir, checkpoints and resume.

infogan-bench train --dataset digits --run-dir runs/digits
infogan-bench train --dataset mnist --data-dir ../shared/data --steps 5000 --batch-size 128

A run dir's life (summary.json's "status"):

    created -> running -> finished
                  |  \\-> failed (reason, step): a non-finite loss or weight, an error
                  \\----> interrupted (signal, step): SIGTERM/SIGINT/SIGHUP, after a checkpoint of that step
    running | failed | interrupted --(--resume true)--> running

While running, the summary is rewritten at every log interval (step, losses, heartbeat time).
One process at a time holds the run dir's lock.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn

import torch
from tqdm import tqdm

from infogan_bench.analysis.plots import plot_confusion
from infogan_bench.config import RunConfig, save_yaml
from infogan_bench.data.datasets import Batches, Data, load_dataset
from infogan_bench.device import device_name, resolve_device, set_threads, use_fast_paths
from infogan_bench.errors import (
    CheckpointError,
    ConfigError,
    DiskFullError,
    DWonError,
    Interrupted,
    NonFiniteLossError,
    first_line,
    hms,
)
from infogan_bench.nets.latent import code_entropy
from infogan_bench.nets.models import non_finite_weight, trained_models
from infogan_bench.rundir import RunDir, holds_only_weights, weights_only
from infogan_bench.scoring.domain import DomainReference, domain_reference
from infogan_bench.scoring.metrics.thickness import ThicknessScale
from infogan_bench.scoring.protocol import (
    EVAL_SUBSET,
    eval_generated_scores,
    eval_scores,
    score_model,
)
from infogan_bench.tracking import Tracker, make_tracker
from infogan_bench.training.dwon import D_WON_SEPARATION, DWonPhase
from infogan_bench.training.samples import save_sample_grids
from infogan_bench.training.signals import on_stop_signals
from infogan_bench.training.step import Trainer

HEARTBEAT_KEYS = ("loss_d", "loss_g", "mi_lower_bound")  # copied into the running summary


def train(config: RunConfig, tracker: Tracker | None = None) -> dict[str, Any]:
    """Train one run in config.run_dir; returns the summary also written to summary.json."""
    run = RunDir(config.run_dir)
    with run.lock():
        return _train_locked(config, run, tracker)


def _train_locked(config: RunConfig, run: RunDir, tracker: Tracker | None) -> dict[str, Any]:
    done = _finished_summary(run, config)
    if done is not None:
        return done  # resuming a finished run with the same steps changes nothing
    device = resolve_device(config.device)
    set_threads(config, device)
    use_fast_paths(config, device)
    data = load_dataset(config.dataset, config.data_dir, device)
    if config.batch_size > len(data.train_images):
        raise ConfigError(
            f"batch_size: at most {len(data.train_images)} for {config.dataset}, got {config.batch_size}"
        )
    guidance = ThicknessScale(data.train_images) if config.cont_guidance == "thickness" else None
    trainer = Trainer.create(config, data.image_shape, data.n_classes, device, guidance)
    start_step, elapsed = _start_or_resume(run, trainer, config)
    tracker = tracker or make_tracker(config, run.path)
    run.write_summary(_running(start_step, {}))
    clock = _Clock(elapsed)
    # the handlers stay in place until the summary is written: a repeated SIGHUP waits for it
    with _stop_requests() as stop:
        try:
            loop = _Loop.start(trainer, data, run, tracker, clock, stop, start_step)
            step = loop.train(start_step)
            stop.trained_to = step  # a signal now stops scoring at once; a resume rescores
            summary = _final_summary(trainer, data, run, tracker, step, clock)
        except Interrupted as err:
            summary = {
                "status": "interrupted",
                "step": err.step,
                "signal": signal.Signals(err.signum).name,
                "wall_time_s": round(clock.elapsed(), 2),
            }
            _close(run, tracker, summary, preempted=True)
            raise
        except BaseException as err:
            numbered = isinstance(err, NonFiniteLossError | DWonError)
            failed_step = err.step if numbered else _last_logged_step(run)
            reason = first_line(err)
            if isinstance(err, DiskFullError):
                reason = err.reason
            summary = {"status": "failed", "step": failed_step, "reason": reason}
            if isinstance(err, DWonError):  # final: a resume would stop again (sweeps skip it)
                summary |= {"stopped": "d_won", **DWonPhase.of(run.read_metrics()).summary()}
            _close(run, tracker, summary)
            if isinstance(err, DiskFullError):  # say where a resume would start
                raise DiskFullError(
                    err.path, err.needed_bytes, err.free_bytes, _resume_step(run)
                ) from None
            raise
    _close(run, tracker, summary)
    return summary


def _close(run: RunDir, tracker: Tracker, summary: dict[str, Any], preempted: bool = False) -> None:
    """Write the run's last summary and close its tracker; the summary then says what the
    tracker could not record (tracker_lost), if anything."""
    run.write_summary(summary)
    tracker.finish(summary, preempted=preempted)
    if tracker.lost is not None:
        summary["tracker_lost"] = tracker.lost
        run.write_summary(summary)


class _Clock:
    """Training wall time, accumulated over resumes (the part before this process comes in)."""

    def __init__(self, before: float) -> None:
        self.before, self.start = before, time.perf_counter()

    def elapsed(self) -> float:
        return self.before + time.perf_counter() - self.start


class _StopRequest:
    signum: int | None = None  # the signal received during training
    trained_to: int | None = None  # set when training is done (last.pt holds this step)


@contextmanager
def _stop_requests() -> Iterator[_StopRequest]:
    """SIGTERM/SIGINT/SIGHUP ask the loop to stop at the end of the current step (after
    training, the first one stops at once). A second SIGTERM/SIGINT stops at once; a repeated
    SIGHUP is ignored: the kernel sends a sweep child its parent-death signal once for each of
    the dead runner's threads."""
    request = _StopRequest()

    def handle(signum: int) -> None:
        if request.signum is not None:
            if signum == signal.SIGHUP:
                return
            raise KeyboardInterrupt
        request.signum = signum
        if request.trained_to is not None:
            raise Interrupted(signum, request.trained_to)

    with on_stop_signals(handle):
        yield request


@dataclass
class _Interval:
    """What the loop carries from step to step: the summed losses of the log interval, its
    length and start, the step last.pt holds, the best eval FID so far and D's won phase."""

    good_step: int | None
    best_fid: float
    d_won: DWonPhase
    saved_at: float = field(default_factory=time.perf_counter)  # when last.pt was last written
    totals: dict[str, torch.Tensor] = field(default_factory=dict)
    steps: int = 0
    started: float = field(default_factory=time.perf_counter)

    def add(self, losses: dict[str, torch.Tensor]) -> None:
        for name, value in losses.items():
            self.totals[name] = self.totals.get(name, 0) + value
        self.steps += 1

    def restart(self) -> None:
        self.totals, self.steps, self.started = {}, 0, time.perf_counter()


@dataclass
class _Loop:
    """What the steps of a run share: the trainer, its data and run dir, the tracker, the
    training clock, the stop request, the domain reference of eval steps (None: cat_acc only)
    and what carries over from one log interval to the next."""

    trainer: Trainer
    data: Data
    run: RunDir
    tracker: Tracker
    clock: _Clock
    stop: _StopRequest
    reference: DomainReference | None
    interval: _Interval

    @classmethod
    def start(
        cls,
        trainer: Trainer,
        data: Data,
        run: RunDir,
        tracker: Tracker,
        clock: _Clock,
        stop: _StopRequest,
        start_step: int,
    ) -> _Loop:
        config = trainer.config
        # with scoring on, eval steps also score FID and keep the best checkpoint by it
        reference = None
        if config.eval_every > 0 and config.score_samples > 0:
            reference = domain_reference(config.dataset, data, progress=config.progress)
        records = run.read_metrics()  # a resumed run's rows so far
        fids = [r["eval_fid_domain"] for r in records if "eval_fid_domain" in r]
        interval = _Interval(
            good_step=start_step if run.checkpoint_path().exists() else None,
            best_fid=min(fids, default=math.inf),
            d_won=DWonPhase.of(records),
        )
        return cls(trainer, data, run, tracker, clock, stop, reference, interval)

    def train(self, start_step: int) -> int:
        """Steps start_step+1 .. config.steps, logging and checkpointing on the way."""
        config, trainer = self.trainer.config, self.trainer
        batches = Batches(self.data, config, trainer.rng)
        # a bar on a terminal; off one (a log file), a plain line per log interval instead
        bar = tqdm(
            total=config.steps,
            initial=start_step,
            disable=None if config.progress else True,
            unit="step",
        )
        log_lines = config.progress and bar.disable
        with bar:
            for step in range(start_step + 1, config.steps + 1):
                self.interval.add(trainer.step(batches.real(step - 1), batches.labelled()))
                bar.update(1)
                if _writes_at(step, config):
                    record = self.log(step)
                    bar.set_postfix({k: f"{record[k]:.3f}" for k in HEARTBEAT_KEYS})
                    if log_lines:
                        print(_progress_line(record, config), file=sys.stderr, flush=True)
                if self.stop.signum is not None:  # a logged step keeps its row before stopping
                    self.stop_at(step, self.stop.signum)
        return config.steps

    def log(self, step: int) -> dict[str, Any]:
        """The interval's row to the metrics file and the tracker (with eval scores at eval
        steps), the checkpoints due at step, the running summary; a D-won stop."""
        record = self.row(step)
        self.evaluate(record, step)
        self.run.append_metrics(record)
        self.tracker.log(record, step)
        config = self.trainer.config
        if config.eval_every > 0 and step % config.eval_every == 0 and step < config.steps:
            samples = save_sample_grids(
                self.trainer.sampler, config, self.run.samples, self.trainer.device
            )
            self.tracker.log_images(samples, step)  # train() writes the final grids
        self.checkpoint(step)
        self.run.write_summary(_running(step, record))
        self.stop_if_d_won(step)
        self.interval.restart()  # images_per_s: the steps' own time, not the evals' or saves'
        return record

    def row(self, step: int) -> dict[str, Any]:
        """Mean losses, speed and learning rates of the interval, and its D-won mark; nothing
        non-finite gets past: the losses, then the updated weights are checked."""
        trainer, interval, config = self.trainer, self.interval, self.trainer.config
        record = _interval_record(interval.totals, interval.steps, step, config, interval.good_step)
        _require_finite_weights(trainer, step, interval.steps, interval.good_step)
        elapsed = time.perf_counter() - interval.started
        record["images_per_s"] = interval.steps * config.batch_size / elapsed
        record["lr_d"] = trainer.opt_d.param_groups[0]["lr"]
        record["lr_g"] = trainer.opt_g.param_groups[0]["lr"]
        interval.d_won.add(record)
        return record

    def evaluate(self, record: dict[str, Any], step: int) -> None:
        """At eval steps and the last: cat_acc (and FID) of the sampling G, the raw G's FID
        beside a moving average; best.pt when the FID is the lowest so far."""
        trainer, config, reference = self.trainer, self.trainer.config, self.reference
        if not (config.eval_every > 0 and step % config.eval_every == 0 or step == config.steps):
            return
        G, D = trainer.sampler, trainer.discriminator
        record.update(eval_scores(G, D, config, self.data, reference))
        if trainer.ema is not None and reference is not None:
            raw = eval_generated_scores(
                trainer.generator, config, self.data, reference, EVAL_SUBSET
            )
            record["eval_fid_domain_raw"] = raw["fid_domain"]
        if record.get("eval_fid_domain", math.inf) < self.interval.best_fid:
            self.interval.best_fid = record["eval_fid_domain"]
            self.run.save_checkpoint(weights_only(trainer.state_dict(step)), name="best")

    def checkpoint(self, step: int) -> None:
        """last.pt every checkpoint_every steps, at the last, or checkpoint_minutes after the
        last write; a weights-only snapshot every snapshot_every steps."""
        config, interval, trainer = self.trainer.config, self.interval, self.trainer
        overdue = 0 < config.checkpoint_minutes <= (time.perf_counter() - interval.saved_at) / 60
        if step % config.checkpoint_every == 0 or step == config.steps or overdue:
            self.run.save_checkpoint(trainer.state_dict(step) | {"elapsed_s": self.clock.elapsed()})
            interval.good_step, interval.saved_at = step, time.perf_counter()
        if config.snapshot_every > 0 and step % config.snapshot_every == 0:  # to score, not resume
            self.run.save_checkpoint(weights_only(trainer.state_dict(step)), name=f"step_{step}")

    def stop_if_d_won(self, step: int) -> None:
        """With --stop-when-d-won N, fail a run in which D has won for N steps in a row."""
        config, phase = self.trainer.config, self.interval.d_won
        streak = phase.streak()
        if config.stop_when_d_won and streak >= config.stop_when_d_won:
            raise DWonError(
                f"D won from step {phase.since}: d_separation >= {D_WON_SEPARATION} for "
                f"{streak} steps (--stop-when-d-won {config.stop_when_d_won}); last.pt holds "
                f"step {self.interval.good_step}",
                step,
            )

    def stop_at(self, step: int, signum: int) -> NoReturn:
        """Checkpoint `step` (unless last.pt already holds it) and raise Interrupted."""
        interval = self.interval
        if interval.good_step != step:
            _require_finite_weights(self.trainer, step, interval.steps, interval.good_step)
            state = self.trainer.state_dict(step) | {"elapsed_s": self.clock.elapsed()}
            self.run.save_checkpoint(state)
        raise Interrupted(signum, step)


def _writes_at(step: int, config: RunConfig) -> bool:
    """Whether step logs a row: every log_every, checkpoint_every and snapshot_every step, the last."""
    return (
        step % config.log_every == 0
        or step % config.checkpoint_every == 0
        or step == config.steps
        or (config.snapshot_every > 0 and step % config.snapshot_every == 0)
    )


def _final_summary(
    trainer: Trainer, data: Data, run: RunDir, tracker: Tracker, step: int, clock: _Clock
) -> dict[str, Any]:
    """Sample grids and the full scoring protocol of the final (and the best) checkpoint."""
    config, device = trainer.config, trainer.device
    wall = clock.elapsed()
    tracker.log_images(save_sample_grids(trainer.sampler, config, run.samples, device), step)
    records = run.read_metrics()
    final = records[-1]
    summary = {
        "status": "finished",
        "step": step,
        "wall_time_s": round(wall, 2),
        "images_per_s": round(step * config.batch_size / wall, 1) if wall > 0 else None,
        "device": device_name(device),
        "torch": torch.__version__,
        **{k: v for k, v in final.items() if k.startswith(("loss_", "d_", "mi_"))},
        "mi_max": code_entropy(config),
        **DWonPhase.of(records).summary(),
    }
    final_scores = score_model(
        trainer.sampler, trainer.discriminator, config, data, config.score_samples
    )
    summary.update(final_scores)
    if trainer.ema is not None and "fid_domain" in final_scores:
        reference = domain_reference(config.dataset, data, progress=config.progress)
        raw = eval_generated_scores(
            trainer.generator, config, data, reference, config.score_samples
        )
        summary["fid_domain_raw"] = raw["fid_domain"]
    if "cat_confusion" in final_scores:
        title = f"{config.variant}, seed {config.seed}: cat_acc {final_scores['cat_acc']:.3f}"
        plot_confusion(
            final_scores["cat_confusion"], run.samples / "confusion.png", title, data.class_names
        )
        tracker.log_confusion(final_scores["cat_confusion"], step)
    if run.checkpoint_path("best").exists():
        state = run.load_checkpoint("best")
        summary["best_step"] = int(state["step"])
        best_scores = final_scores  # the best checkpoint may be the final model
        if summary["best_step"] != step:
            G, D = trained_models(config, state, data.image_shape, device)
            best_scores = score_model(G, D, config, data, config.score_samples)
        summary.update({f"best_{k}": v for k, v in best_scores.items()})
    tracker.log_checkpoints(run.checkpoints)
    return summary


def _progress_line(record: dict[str, Any], config: RunConfig) -> str:
    """One log interval as a line: step, losses, images/s and the ETA at that speed."""
    step = record["step"]
    losses = "  ".join(f"{k} {record[k]:.3f}" for k in HEARTBEAT_KEYS)
    speed = record["images_per_s"]
    eta_s = round((config.steps - step) * config.batch_size / speed) if speed > 0 else 0
    return f"step {step}/{config.steps}  {losses}  {speed:.0f} images/s  ETA {hms(eta_s)}"


def _running(step: int, record: dict[str, Any]) -> dict[str, Any]:
    """The summary of a live run: its last logged step, losses, pid and a heartbeat time."""
    return {
        "status": "running",
        "step": step,
        "pid": os.getpid(),
        "heartbeat": datetime.now(UTC).isoformat(timespec="seconds"),
        **{k: record[k] for k in HEARTBEAT_KEYS if k in record},
    }


def _resume_step(run: RunDir) -> int:
    """The step --resume true would continue from: last.pt's, or 0 without one."""
    try:
        return run.checkpoint_step() or 0
    except CheckpointError:
        return 0


def _last_logged_step(run: RunDir) -> int:
    records = run.read_metrics()
    return records[-1]["step"] if records else 0


def _good_state(good_step: int | None) -> str:
    if good_step is None:
        return "no checkpoint was written before it"
    return f"last.pt holds step {good_step}, the last good state"


def _require_finite_weights(
    trainer: Trainer, step: int, n_steps: int, good_step: int | None
) -> None:
    """Raise NonFiniteLossError if an update made any weight of G or D NaN or inf."""
    bad = non_finite_weight(
        {"generator": trainer.generator, "discriminator": trainer.discriminator}
    )
    if bad is not None:
        name, key = bad
        raise NonFiniteLossError(
            f"{name} weight {key} became non-finite between steps {step - n_steps + 1} "
            f"and {step}; lower the learning rates or try --d-norm spectral; "
            + _good_state(good_step),
            step,
        )


def _interval_record(
    totals: dict[str, torch.Tensor],
    n_steps: int,
    step: int,
    config: RunConfig,
    good_step: int | None,
) -> dict[str, Any]:
    """Mean of each loss over the interval; raises NonFiniteLossError on NaN/inf."""
    record: dict[str, Any] = {"step": step}
    for name, total in totals.items():
        value = float(total) / n_steps
        if not math.isfinite(value):
            raise NonFiniteLossError(
                f"{name} became non-finite between steps {step - n_steps + 1} and {step}; "
                "lower the learning rates or try --d-norm spectral; " + _good_state(good_step),
                step,
            )
        record[name] = value
    # L_I = H(c) - CE: the mutual-information lower bound in nats (max ln 10 for one 10-way code)
    record["mi_lower_bound"] = code_entropy(config) - record["loss_info_cat"]
    return record


def _finished_summary(run: RunDir, config: RunConfig) -> dict[str, Any] | None:
    """The summary of a finished run that a resume with the same steps would not change."""
    summary = run.read_summary()
    if config.resume and summary.get("status") == "finished" and summary["step"] == config.steps:
        _check_recipe(run, config)
        return summary
    return None


def _check_recipe(run: RunDir, config: RunConfig) -> None:
    changed = config.recipe_differences(run.load_config())
    if changed:
        raise ConfigError(
            f"resume: {', '.join(changed)} differ from {run.config_path}; resume with the same values "
            "or start a new --run-dir"
        )


def _start_or_resume(run: RunDir, trainer: Trainer, config: RunConfig) -> tuple[int, float]:
    """Create a fresh run dir, or restore last.pt for --resume; returns (step, training time
    so far in seconds) to start from."""
    if not config.resume:
        run.create(config)
        return 0, 0.0
    _check_recipe(run, config)
    if not run.checkpoint_path().exists():
        save_yaml(config, run.config_path)
        run.truncate_metrics(0)
        return 0, 0.0  # killed before its first checkpoint: start over in the same dir
    state = run.load_checkpoint("last")
    if holds_only_weights(state):
        raise CheckpointError(
            f"{run.checkpoint_path()} holds only weights (a W&B model Artifact): it can be "
            "scored (evaluate), not resumed; use a full checkpoint (--upload-checkpoints full)"
        )
    if config.steps < state["step"]:
        raise ConfigError(
            f"steps: {config.steps} is below the step of {run.checkpoint_path()} ({state['step']}); "
            f"resume with --steps {state['step']} or more"
        )
    step = trainer.load_state_dict(state)
    save_yaml(config, run.config_path)  # records a longer --steps
    run.truncate_metrics(step)
    return step, float(state.get("elapsed_s", 0.0))
