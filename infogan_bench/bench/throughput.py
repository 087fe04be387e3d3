"""Throughput benchmark: the suite's trainer against a naive reference loop, in one process.

    infogan-bench bench --dataset mnist --data-dir ../shared/data --batch-size 64
    infogan-bench bench --dataset mnist --data-dir ../shared/data --time-to-acc 0.9
    infogan-bench bench --dataset mnist --data-dir ../shared/data --fast-paths
    infogan-bench bench --dataset mnist --data-dir ../shared/data --recipe real_consistency=2

The reference loop trains the same networks on the same losses the way the public PyTorch
InfoGAN code does: images kept on the host and read per sample through a DataLoader (as
torchvision datasets do, uint8 -> float per image), each batch copied to the device, latents
drawn on the host, fp32 eager, per-parameter Adam, and every loss read back with `.item()`
each step. The two are timed alternately, several rounds each, so that machine noise falls
on both alike; the median round counts. `--fast-paths` times, the same way, the suite's step
with each candidate fast path that the trainer does not use (see reports/perf/); `--recipe`
times the default step against the step of a recipe (config fields set on top of the default):
what a training option costs per step.
"""

from __future__ import annotations

import dataclasses
import itertools
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset
from torch.utils.flop_counter import FlopCounterMode

from infogan_bench.config import RunConfig, from_dict
from infogan_bench.data.datasets import Batches, Data, load_dataset
from infogan_bench.device import device_name, resolve_device
from infogan_bench.nets.latent import Latent, sample_latent
from infogan_bench.nets.models import build_models
from infogan_bench.scoring.protocol import eval_scores, score_model
from infogan_bench.training import losses
from infogan_bench.training.step import Trainer


class HostImages(Dataset):
    """Images as uint8 on the host, converted to float one sample at a time (torchvision-style)."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = (images.cpu() * 255).round().to(torch.uint8)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index].float() / 255  # (C, H, W), like transforms.ToTensor


class NaiveLoop:
    """The reference InfoGAN loop: host data, per-batch copies, per-step `.item()`."""

    def __init__(self, config: RunConfig, data: Data, device: torch.device) -> None:
        torch.manual_seed(config.seed)
        self.config, self.device = config, device
        self.generator, self.discriminator = (
            m.to(device) for m in build_models(config, data.image_shape)
        )
        D = self.discriminator
        self.opt_d = torch.optim.Adam(
            [*D.trunk.parameters(), *D.d_head.parameters(), *D.q_head.parameters()],
            lr=config.lr_d,
            betas=(config.beta1, config.beta2),
            foreach=False,
        )
        self.opt_g = torch.optim.Adam(
            self.generator.parameters(),
            lr=config.lr_g,
            betas=(config.beta1, config.beta2),
            foreach=False,
        )
        self.loader = DataLoader(
            HostImages(data.train_images),
            batch_size=config.batch_size,
            shuffle=True,
            drop_last=True,
        )
        self.batches = iter(self.loader)
        self.host_rng = torch.Generator().manual_seed(config.seed)
        self.history: list[tuple[float, float]] = []

    def next_batch(self) -> torch.Tensor:
        try:
            return next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            return next(self.batches)

    def step(self, real: torch.Tensor | None = None, latent: Latent | None = None) -> None:
        """One D/Q and one G update; real/latent default to the loader's and fresh host draws."""
        config, G, D = self.config, self.generator, self.discriminator
        real = (self.next_batch() if real is None else real).to(self.device)
        if latent is None:
            host = sample_latent(config, config.batch_size, self.host_rng, torch.device("cpu"))
            latent = Latent(
                host.noise.to(self.device),
                host.cat_idx.to(self.device),
                host.cont.to(self.device),
                host.cat_class_counts,
            )
        fake = G(latent.vector())
        real_logits, _ = D(real)
        fake_logits, q_fake = D(fake.detach())
        d_loss = losses.d_adversarial_loss(real_logits, fake_logits) + self._info(q_fake, latent)
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        D.requires_grad_(False)
        fake_logits, q_fake = D(fake)
        g_loss = losses.g_adversarial_loss(fake_logits) + self._info(q_fake, latent)
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()
        D.requires_grad_(True)
        self.history.append((d_loss.item(), g_loss.item()))

    def _info(self, q_params: torch.Tensor, latent: Latent) -> torch.Tensor:
        cat_loss, cont_loss = losses.info_losses(q_params, latent, self.config)
        return self.config.lambda_cat * cat_loss + self.config.lambda_cont * cont_loss


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(run: Callable[[], None], steps: int, device: torch.device) -> float:
    """Seconds for `steps` calls of run (device work finished)."""
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        run()
    _sync(device)
    return time.perf_counter() - start


def matmul_peak_flops(device: torch.device, size: int = 2048, repeats: int = 10) -> float:
    """Measured fp32 FLOP/s of a large square matmul: the device's practical peak."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    a @ b  # warm-up
    seconds = _timed(lambda: a @ b, repeats, device)
    return 2 * size**3 * repeats / seconds


def step_flops(trainer: Trainer, batches: Batches) -> int:
    """FLOPs of one suite training step, counted by torch.utils.flop_counter."""
    with FlopCounterMode(display=False) as counter:
        trainer.step(batches.real(0), batches.labelled())
    return counter.get_total_flops()


@dataclass
class BenchResult:
    device: str
    batch_size: int
    steps_per_round: int
    rounds: int
    suite_images_per_s: float
    naive_images_per_s: float
    speedup: float
    step_gflop: float
    achieved_gflop_per_s: float
    peak_gflop_per_s: float
    fraction_of_peak: float
    scoring_images_per_s: float | None
    scoring_samples: int
    peak_memory_mb: float


def benchmark(
    config: RunConfig, data: Data, device: torch.device, steps: int, rounds: int, score_samples: int
) -> BenchResult:
    """Alternate rounds of the naive loop and the suite's trainer; median images/s of each."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    trainer, suite_step = _suite(config, data, device)
    naive = NaiveLoop(config, data, device)
    rates = _alternating_rates(
        {"naive": naive.step, "suite": suite_step}, config, device, steps, rounds
    )
    suite_rate, naive_rate = rates["suite"], rates["naive"]
    flops = step_flops(trainer, Batches(data, config, trainer.rng))
    peak = matmul_peak_flops(device)
    achieved = flops * suite_rate / config.batch_size
    scoring_rate = None
    if score_samples > 0:
        start = time.perf_counter()
        score_model(trainer.sampler, trainer.discriminator, config, data, score_samples)
        scoring_rate = score_samples / (time.perf_counter() - start)
    return BenchResult(
        device=device_name(device),
        batch_size=config.batch_size,
        steps_per_round=steps,
        rounds=rounds,
        suite_images_per_s=round(suite_rate, 1),
        naive_images_per_s=round(naive_rate, 1),
        speedup=round(suite_rate / naive_rate, 3),
        step_gflop=round(flops / 1e9, 3),
        achieved_gflop_per_s=round(achieved / 1e9, 1),
        peak_gflop_per_s=round(peak / 1e9, 1),
        fraction_of_peak=round(achieved / peak, 3),
        scoring_images_per_s=round(scoring_rate, 1) if scoring_rate else None,
        scoring_samples=score_samples,
        peak_memory_mb=round(_peak_memory_mb(device), 1),
    )


FAST_PATHS = {  # name: (fused Adam, channels-last G and D)
    "plain": (False, False),
    "fused-adam": (True, False),
    "channels-last": (False, True),
    "fused-adam+channels-last": (True, True),
}


def fast_path_rates(
    config: RunConfig, data: Data, device: torch.device, steps: int, rounds: int
) -> list[dict[str, Any]]:
    """Images/s of the suite's step as it is ("plain") and with each candidate fast path."""
    runs: dict[str, Callable[[], None]] = {}
    for name, (fused, channels_last) in FAST_PATHS.items():
        trainer, runs[name] = _suite(config, data, device)
        if channels_last:
            trainer.generator.to(memory_format=torch.channels_last)
            trainer.discriminator.to(memory_format=torch.channels_last)
        if fused:  # Adam reads these at every step; "plain" keeps torch's default for the device
            for group in (g for opt in (trainer.opt_d, trainer.opt_g) for g in opt.param_groups):
                group.update(fused=True, foreach=False)
    rates = _alternating_rates(runs, config, device, steps, rounds)
    return [
        {
            "device": device_name(device),
            "batch_size": config.batch_size,
            "steps_per_round": steps,
            "rounds": rounds,
            "fast_path": name,
            "images_per_s": round(rate, 1),
            "vs_plain": round(rate / rates["plain"], 3),
        }
        for name, rate in rates.items()
    ]


def recipe_rates(
    config: RunConfig,
    data: Data,
    device: torch.device,
    steps: int,
    rounds: int,
    recipes: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Images/s and FLOPs per step of `config` ("default") and of each recipe set on top of it."""
    configs = {"default": config} | {
        " ".join(f"{k}={v}" for k, v in fields.items()): from_dict(config.to_dict() | fields)
        for fields in recipes
    }
    suites = {name: _suite(c, data, device) for name, c in configs.items()}
    rates = _alternating_rates(
        {name: run for name, (_, run) in suites.items()}, config, device, steps, rounds
    )
    flops = {
        name: step_flops(trainer, Batches(data, configs[name], trainer.rng))
        for name, (trainer, _) in suites.items()
    }
    return [
        {
            "device": device_name(device),
            "batch_size": config.batch_size,
            "steps_per_round": steps,
            "rounds": rounds,
            "recipe": name,
            "images_per_s": round(rate, 1),
            "vs_default": round(rate / rates["default"], 3),
            "step_gflop": round(flops[name] / 1e9, 3),
            "gflop_vs_default": round(flops[name] / flops["default"], 3),
        }
        for name, rate in rates.items()
    ]


def _alternating_rates(
    runs: dict[str, Callable[[], None]],
    config: RunConfig,
    device: torch.device,
    steps: int,
    rounds: int,
) -> dict[str, float]:
    """Images/s of each training step function: one warm-up, then rounds of `steps` steps taken
    in turn, so that machine noise falls on all alike; the median round counts."""
    for run in runs.values():  # warm-up: allocator, kernels, first-call costs
        _timed(run, 2, device)
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            seconds[name].append(_timed(run, steps, device))
    return {name: steps * config.batch_size / statistics.median(s) for name, s in seconds.items()}


def _suite(
    config: RunConfig, data: Data, device: torch.device
) -> tuple[Trainer, Callable[[], None]]:
    """A fresh trainer and a function that runs its next step on the resident data."""
    trainer = Trainer.create(config, data.image_shape, data.n_classes, device)
    batches, counter = Batches(data, config, trainer.rng), itertools.count()
    return trainer, lambda: trainer.step(batches.real(next(counter)), batches.labelled())


def time_to_accuracy(
    config: RunConfig, data: Data, device: torch.device, target: float, eval_every: int
) -> dict[str, Any]:
    """Train until Q's matched accuracy on the first 2,000 test images reaches target.

    Wall time counts training steps only (not the evaluations); stops at config.steps.
    """
    trainer, next_step = _suite(config, data, device)
    train_s, history, reached = 0.0, [], False
    for step in range(1, config.steps + 1):
        train_s += _timed(next_step, 1, device)
        if step % eval_every == 0 or step == config.steps:
            acc = eval_scores(trainer.generator, trainer.discriminator, config, data, None)[
                "eval_cat_acc"
            ]
            history.append({"step": step, "cat_acc": round(acc, 4), "train_s": round(train_s, 1)})
            print(f"step {step}: cat_acc {acc:.4f} after {train_s:.0f} s of training", flush=True)
            if acc >= target:
                reached = True
                break
    return {
        "target": target,
        "reached": reached,
        "step": step,
        "images_seen": step * config.batch_size,
        "train_s": round(train_s, 1),
        "history": history,
    }


@dataclass(frozen=True)
class BenchOptions:
    """What `bench` measures (the command's flags, whose defaults are the CLI's): the suite
    against the naive loop per batch size; or with fast_paths each candidate path; or with
    recipes each recipe against the default; or with time_to_acc the training time until
    cat_acc reaches it."""

    dataset: str
    data_dir: str
    device: str
    batch_sizes: tuple[int, ...]
    round_steps: int  # steps per timed round
    rounds: int  # alternating rounds; the median counts
    score_samples: int  # generated images for the scoring timing; 0 = skip
    fast_paths: bool
    recipes: tuple[dict[str, Any], ...]
    time_to_acc: float | None
    eval_every: int  # with time_to_acc: steps between accuracy checks
    max_steps: int  # with time_to_acc: give up after this many steps


def run_bench(options: BenchOptions) -> Iterator[dict[str, Any]]:
    """The `bench` command: one result dict per batch size (the suite vs the naive loop, or
    with fast_paths one per candidate path, or with recipes one per recipe and the default),
    or with time_to_acc one time-to-accuracy result."""
    device = resolve_device(options.device)
    base = RunConfig(
        dataset=options.dataset,
        data_dir=options.data_dir,
        device=options.device,
        tracker="none",
        progress=False,
    )
    for fields in options.recipes:  # a bad recipe stops before the data loads
        from_dict(base.to_dict() | fields)
    data = load_dataset(options.dataset, options.data_dir, device)
    steps, rounds = options.round_steps, options.rounds
    if options.time_to_acc is not None:
        config = dataclasses.replace(
            base, batch_size=options.batch_sizes[0], steps=options.max_steps
        )
        yield time_to_accuracy(config, data, device, options.time_to_acc, options.eval_every)
        return
    for batch_size in options.batch_sizes:
        config = dataclasses.replace(base, batch_size=batch_size)
        if options.fast_paths:
            yield from fast_path_rates(config, data, device, steps, rounds)
        elif options.recipes:
            yield from recipe_rates(config, data, device, steps, rounds, list(options.recipes))
        else:
            result = benchmark(config, data, device, steps, rounds, options.score_samples)
            yield dataclasses.asdict(result)


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
