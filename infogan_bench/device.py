"""The device a run computes on: choosing it, its CPU threads, and its name in a summary."""

from __future__ import annotations

import os
import sys

import torch

from infogan_bench.config import RunConfig
from infogan_bench.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "device: cuda requested but no CUDA device is available; use --device cpu"
        )
    return torch.device(name)


def set_threads(config: RunConfig, device: torch.device) -> int:
    """Give torch this run's CPU threads (--threads; 0: OMP_NUM_THREADS, else the CPUs this
    process may use) and, when neither chose them and the run computes on the CPU, warn once if
    the machine's load already fills those CPUs: runs that share cores slow down far more than
    they split them (reports/perf/)."""
    cpus = len(os.sched_getaffinity(0))
    chosen = config.threads or int(os.environ.get("OMP_NUM_THREADS") or 0)
    threads = chosen or cpus
    torch.set_num_threads(threads)
    load = os.getloadavg()[0]  # runnable processes, averaged over the last minute
    # a whole CPU's worth of other work: a lone run beside an editor is not warned
    if not chosen and device.type == "cpu" and load + threads > cpus + 1:
        print(
            f"infogan-bench: warning: load {load:.1f} on {cpus} CPUs: this run's {threads} "
            f"threads will share busy cores and every run on them slows; give each of N runs "
            f"--threads {cpus}/N (docs/runs.md: several trainings on one machine)",
            file=sys.stderr,
        )
    return threads


def fast_paths_on(config: RunConfig, device: torch.device) -> bool:
    """Whether the run takes the CUDA fast paths: a CUDA device and cuda_fast_paths."""
    return device.type == "cuda" and config.cuda_fast_paths


def use_fast_paths(config: RunConfig, device: torch.device) -> bool:
    """When fast_paths_on: TF32 for matmuls and convolutions and cudnn's benchmark mode for this
    process (fused Adam is the Trainer's); whether they are on."""
    fast = fast_paths_on(config, device)
    if fast:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    return fast


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's kernel set and thread count: both change a GAN's trajectory
    (the same seed and code at 1 vs 2 threads, or AVX2 vs AVX512, train different models)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads)"
