"""The InfoGAN training loop: train(config) -> summary dict, with run dir, checkpoints and resume.

infogan-bench train --dataset digits --run-dir runs/digits
infogan-bench train --dataset mnist --data-dir ../shared/data --steps 5000 --batch-size 128
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
from tqdm import tqdm

from infogan_bench import losses
from infogan_bench.config import ConfigError, RunConfig, save_yaml
from infogan_bench.data import Data, labelled_subset, load_dataset
from infogan_bench.evaluate import categorical_scores, generated_scores, score_model
from infogan_bench.features import DomainClassifier, load_or_train, real_reference
from infogan_bench.metrics.thickness import ThicknessScale
from infogan_bench.rundir import RunDir
from infogan_bench.samples import save_sample_grids
from infogan_bench.tracking import Tracker, make_tracker
from infogan_bench.trainer import Trainer, resolve_device

EVAL_SUBSET = 2000  # test images scored at each eval_every step (the full split at the end)


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or inf; training stops and the last good checkpoint is kept."""

    def __init__(self, message: str, step: int) -> None:
        super().__init__(message)
        self.step = step


class Batches:
    """Real training batches, shuffled per epoch, and labelled batches for supervision."""

    def __init__(self, data: Data, config: RunConfig, rng: torch.Generator) -> None:
        self.images, self.labels = data.train_images, data.train_labels
        self.batch_size, self.seed, self.rng = config.batch_size, config.seed, rng
        self.steps_per_epoch = len(self.images) // config.batch_size
        self.epoch, self.order = -1, self.labels.new_empty(0)
        self.labelled_idx = None
        if config.supervised_fraction > 0:
            self.labelled_idx = labelled_subset(
                self.labels, config.supervised_fraction, data.n_classes, config.seed
            )

    def real(self, step: int) -> torch.Tensor:
        """Batch of step `step` (B, C, H, W): a pure function of (seed, step), so resume needs no state."""
        epoch, position = divmod(step, self.steps_per_epoch)
        if epoch != self.epoch:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self.epoch = epoch
            self.order = torch.randperm(len(self.images), generator=gen).to(self.images.device)
        return self.images[
            self.order[position * self.batch_size : (position + 1) * self.batch_size]
        ]

    def labelled(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(images, labels) drawn with replacement from the labelled subset; None without one."""
        if self.labelled_idx is None:
            return None
        n = len(self.labelled_idx)
        pick = torch.randint(n, (self.batch_size,), generator=self.rng, device=self.rng.device)
        idx = self.labelled_idx[pick]
        return self.images[idx], self.labels[idx]


def train(config: RunConfig, tracker: Tracker | None = None) -> dict[str, Any]:
    """Train one run in config.run_dir; returns the summary also written to summary.json."""
    device = resolve_device(config.device)
    run = RunDir(config.run_dir)
    data = load_dataset(config.dataset, config.data_dir, device)
    if config.batch_size > len(data.train_images):
        raise ConfigError(
            f"batch_size: at most {len(data.train_images)} for {config.dataset}, got {config.batch_size}"
        )
    guidance = ThicknessScale(data.train_images) if config.cont_guidance == "thickness" else None
    trainer = Trainer.create(config, data.image_shape, data.n_classes, device, guidance)
    start_step = _start_or_resume(run, trainer, config, device)
    tracker = tracker or make_tracker(config, run.path)
    run.write_summary({"status": "running", "step": start_step})
    start_time = time.perf_counter()
    step = start_step
    try:
        step = _train_steps(trainer, data, run, tracker, start_step)
    except BaseException as err:
        failed_step = err.step if isinstance(err, NonFiniteLossError) else _last_logged_step(run)
        reason = (
            "interrupted" if isinstance(err, KeyboardInterrupt) else str(err) or type(err).__name__
        )
        summary = {"status": "failed", "step": failed_step, "reason": reason}
        run.write_summary(summary)
        tracker.finish(summary)
        raise
    wall = time.perf_counter() - start_time
    images_seen = (step - start_step) * config.batch_size
    tracker.log_images(save_sample_grids(trainer.generator, config, run.samples, device), step)
    final = run.read_metrics()[-1]
    summary = {
        "status": "finished",
        "step": step,
        "wall_time_s": round(wall, 2),
        "images_per_s": round(images_seen / wall, 1) if images_seen else None,
        **{k: v for k, v in final.items() if k.startswith(("loss_", "d_", "mi_"))},
        "mi_max": losses.code_entropy(config),
    }
    final_scores = score_model(
        trainer.generator, trainer.discriminator, config, data, config.score_samples
    )
    summary.update(final_scores)
    if run.checkpoint_path("best").exists():
        best = Trainer.create(config, data.image_shape, data.n_classes, device)
        summary["best_step"] = best.load_state_dict(run.load_checkpoint("best", device))
        best_scores = (  # the best checkpoint may be the final model: its scores are known
            final_scores
            if summary["best_step"] == step
            else score_model(best.generator, best.discriminator, config, data, config.score_samples)
        )
        summary.update({f"best_{k}": v for k, v in best_scores.items()})
    run.write_summary(summary)
    tracker.finish(summary)
    return summary


def _train_steps(
    trainer: Trainer, data: Data, run: RunDir, tracker: Tracker, start_step: int
) -> int:
    """Steps start_step+1 .. config.steps, logging and checkpointing on the way; returns the last."""
    config = trainer.config
    batches = Batches(data, config, trainer.rng)
    # with scoring on, eval steps also score FID and keep the best checkpoint by it
    reference = None  # the domain classifier and its features of the test split
    if config.eval_every > 0 and config.score_samples > 0:
        classifier, _ = load_or_train(config.dataset, data, progress=config.progress)
        reference = classifier, real_reference(config.dataset, data, classifier)[0]
    fids = [r["eval_fid_domain"] for r in run.read_metrics() if "eval_fid_domain" in r]
    best_fid = min(fids, default=math.inf)
    totals: dict[str, torch.Tensor] = {}
    interval_start, interval_steps = time.perf_counter(), 0
    bar = tqdm(total=config.steps, initial=start_step, disable=not config.progress, unit="step")
    with bar:
        for step in range(start_step + 1, config.steps + 1):
            step_losses = trainer.step(batches.real(step - 1), batches.labelled())
            for name, value in step_losses.items():
                totals[name] = totals.get(name, 0) + value
            interval_steps += 1
            bar.update(1)
            save_last = step % config.checkpoint_every == 0 or step == config.steps
            snapshot = config.snapshot_every > 0 and step % config.snapshot_every == 0
            if not (step % config.log_every == 0 or save_last or snapshot):
                continue
            record = _interval_record(totals, interval_steps, step, config)  # raises on NaN
            record["images_per_s"] = (
                interval_steps * config.batch_size / (time.perf_counter() - interval_start)
            )
            record["lr_d"] = trainer.opt_d.param_groups[0]["lr"]
            record["lr_g"] = trainer.opt_g.param_groups[0]["lr"]
            evaluate_now = config.eval_every > 0 and step % config.eval_every == 0
            if evaluate_now or step == config.steps:
                record.update(eval_scores(trainer, data, reference))
            if record.get("eval_fid_domain", math.inf) < best_fid:
                best_fid = record["eval_fid_domain"]
                run.save_checkpoint(trainer.state_dict(step), name="best")
            run.append_metrics(record)
            tracker.log(record, step)
            if evaluate_now and step < config.steps:  # train() writes the final grids
                samples = save_sample_grids(trainer.generator, config, run.samples, trainer.device)
                tracker.log_images(samples, step)
            bar.set_postfix({k: f"{record[k]:.3f}" for k in ("loss_d", "loss_g", "mi_lower_bound")})
            totals, interval_start, interval_steps = {}, time.perf_counter(), 0
            if save_last:
                run.save_checkpoint(trainer.state_dict(step))
            if snapshot:
                run.save_checkpoint(trainer.state_dict(step), name=f"step_{step}")
    return config.steps


def eval_scores(
    trainer: Trainer, data: Data, reference: tuple[DomainClassifier, torch.Tensor] | None
) -> dict[str, float]:
    """Scores on a fixed subset during training: cat_acc on test images, FID on generated ones."""
    subset = slice(0, EVAL_SUBSET)
    config, D = trainer.config, trainer.discriminator
    scores = categorical_scores(
        D, data.test_images[subset], data.test_labels[subset], config, data.n_classes
    )
    if reference is not None:
        classifier, real_features = reference
        generated = generated_scores(
            trainer.generator, D, config, data, classifier, EVAL_SUBSET, real_features=real_features
        )
        scores.update(
            {k: generated[k] for k in ("fid_domain", "cat_consistency") if k in generated}
        )
    return {f"eval_{k}": v for k, v in scores.items()}


def _last_logged_step(run: RunDir) -> int:
    records = run.read_metrics()
    return records[-1]["step"] if records else 0


def _interval_record(
    totals: dict[str, torch.Tensor], n_steps: int, step: int, config: RunConfig
) -> dict[str, Any]:
    """Mean of each loss over the interval; raises NonFiniteLossError on NaN/inf."""
    record: dict[str, Any] = {"step": step}
    for name, total in totals.items():
        value = float(total) / n_steps
        if not math.isfinite(value):
            raise NonFiniteLossError(
                f"{name} became non-finite between steps {step - n_steps + 1} and {step}; "
                "lower the learning rates or try --d-norm spectral; last.pt holds the last good state",
                step,
            )
        record[name] = value
    # L_I = H(c) - CE: the mutual-information lower bound in nats (max ln 10 for one 10-way code)
    record["mi_lower_bound"] = losses.code_entropy(config) - record["loss_info_cat"]
    return record


def _start_or_resume(run: RunDir, trainer: Trainer, config: RunConfig, device: torch.device) -> int:
    """Create a fresh run dir, or restore last.pt for --resume; returns the step to start from."""
    if not config.resume:
        run.create(config)
        return 0
    saved = run.load_config()
    changed = config.recipe_differences(saved)
    if changed:
        raise ConfigError(
            f"resume: {', '.join(changed)} differ from {run.config_path}; resume with the same values "
            "or start a new --run-dir"
        )
    save_yaml(config, run.config_path)  # records a longer --steps
    if not run.checkpoint_path().exists():
        run.truncate_metrics(0)
        return 0  # killed before its first checkpoint: start over in the same dir
    step = trainer.load_state_dict(run.load_checkpoint("last", device))
    run.truncate_metrics(step)
    return step
