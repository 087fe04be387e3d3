"""What a lent GPU should measure, in one run of under ten minutes (digits only, no download):

    bash reports/perf/gpu.sh                 # on the GPU machine: writes reports/perf/gpu-cuda.json
    bash reports/perf/gpu.sh --device cpu    # the dry run here: the same steps, smaller sizes

1. `bench` at batch 64 and 128, the suite against the naive loop, and each fast path;
2. a profiler trace of 20 steps: kernels (CPU: ATen ops) per step, the device's busy share of
   the wall time, host milliseconds per step;
3. host reads in 20 steps of the default, the Gaussian-NLL Q and a resumed run (on CUDA
   under torch.cuda.set_sync_debug_mode("warn") too);
4. the wall time of one eval, one checkpoint save and one scoring of 10,000 samples (the domain
   features; the dry run: 1,000);
5. images/s of 1, 2 and 4 runs sharing the device (processes, each one `bench` round);
6. steps/s of the training step with each GPU option: none, --cuda-fast-paths, --autocast bf16,
   --compile (the last on CUDA only: inductor's code generation takes minutes on a CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from infogan_bench.bench.sync import host_reads
from infogan_bench.config import RunConfig
from infogan_bench.data.datasets import Batches, load_dataset
from infogan_bench.device import device_name, resolve_device, use_fast_paths
from infogan_bench.rundir import RunDir
from infogan_bench.scoring.domain import domain_reference
from infogan_bench.scoring.protocol import eval_scores, score_model
from infogan_bench.training.step import Trainer

CLI = [sys.executable, "-m", "infogan_bench.cli"]


def bench(device: str, quick: bool) -> list[dict]:
    """`infogan-bench bench` lines: the suite vs the naive loop, then each fast path."""
    sizes = ["--round-steps", "5", "--rounds", "1"] if quick else []
    common = [*CLI, "bench", "--dataset", "digits", "--device", device, *sizes]
    base = subprocess.run(
        [*common, "--batch-size", "64", "128", "--score-samples", "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    fast = subprocess.run(
        [*common, "--batch-size", "64", "--fast-paths"], capture_output=True, text=True, check=True
    )
    return [json.loads(line) for line in (base.stdout + fast.stdout).splitlines() if line.strip()]


def trainer_and_batches(device: torch.device, **fields) -> tuple[Trainer, Batches, object]:
    config = RunConfig(device=device.type, tracker="none", progress=False, **fields)
    data = load_dataset("digits", "unused", device)
    trainer = Trainer.create(config, data.image_shape, data.n_classes, device)
    return trainer, Batches(data, config, trainer.rng), data


def profile_steps(device: torch.device, steps: int = 20) -> dict:
    trainer, batches, _ = trainer_and_batches(device)
    for step in range(5):  # warm-up: Adam's state, cuDNN's choices
        trainer.step(batches.real(step), None)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    with profile(activities=activities) as prof:
        start = time.perf_counter()
        for step in range(steps):
            trainer.step(batches.real(step), None)
        sync()
        wall = time.perf_counter() - start
    events = prof.events()
    if device.type == "cuda":
        kernels = [e for e in events if e.device_type.name == "CUDA"]
        busy = sum(e.device_time for e in kernels) / 1e6 / wall  # us -> s
    else:
        kernels = [e for e in events if e.name.startswith("aten::") and e.cpu_parent is None]
        busy = None
    return {
        "steps": steps,
        "kernels_per_step": len(kernels) / steps,
        "device_busy_share": busy,
        "host_ms_per_step": 1000 * wall / steps,
    }


def syncs(device: torch.device) -> dict:
    """Host reads per recipe in 20 steps; on CUDA also the sync debug mode's warnings."""
    found = {}
    for name, fields in [("default", {}), ("gaussian-nll", {"q_cont_loss": "gaussian-nll"})]:
        trainer, batches, _ = trainer_and_batches(device, **fields)
        found[name] = len(host_reads(trainer, batches.real(0), steps=20))
    with tempfile.TemporaryDirectory() as folder:  # a resumed run: its checkpoint loaded back
        trainer, batches, _ = trainer_and_batches(device, run_dir=folder)
        trainer.step(batches.real(0), None)
        run = RunDir(folder)
        run.save_checkpoint(trainer.state_dict(step=1))
        resumed, _, _ = trainer_and_batches(device, run_dir=folder)
        resumed.load_state_dict(run.load_checkpoint())
        found["resumed"] = len(host_reads(resumed, batches.real(1), steps=20))
    if device.type == "cuda":
        trainer, batches, _ = trainer_and_batches(device)
        trainer.step(batches.real(0), None)
        torch.cuda.set_sync_debug_mode("warn")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for step in range(20):
                trainer.step(batches.real(step), None)
        torch.cuda.set_sync_debug_mode("default")
        found["cuda_sync_warnings_default"] = len(caught)
    return found


def timings(device: torch.device, samples: int) -> dict:
    trainer, batches, data = trainer_and_batches(device, score_samples=samples)
    trainer.step(batches.real(0), None)
    reference = domain_reference("digits", data, progress=False)

    def timed(call) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        call()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return round(time.perf_counter() - start, 3)

    config = trainer.config
    with tempfile.TemporaryDirectory() as folder:
        run = RunDir(folder)
        save_s = timed(lambda: run.save_checkpoint(trainer.state_dict(step=1)))
    return {
        "eval_s": timed(
            lambda: eval_scores(trainer.sampler, trainer.discriminator, config, data, reference)
        ),
        "checkpoint_save_s": save_s,
        f"score_{samples}_samples_s": timed(
            lambda: score_model(trainer.sampler, trainer.discriminator, config, data, samples)
        ),
    }


def sharing(device: str, quick: bool) -> dict:
    """Total images/s of N concurrent runs (each one `bench` round at batch 64)."""
    steps = "5" if quick else "50"
    command = [
        *CLI,
        "bench",
        "--dataset",
        "digits",
        "--device",
        device,
        "--batch-size",
        "64",
        "--rounds",
        "1",
        "--round-steps",
        steps,
        "--score-samples",
        "0",
    ]
    totals = {}
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # as runs share a machine (docs/runs.md)
    for n in (1, 2, 4):
        procs = [
            subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) for _ in range(n)
        ]
        lines = [json.loads(p.communicate()[0].splitlines()[0]) for p in procs]
        totals[f"{n}_runs_images_per_s"] = round(sum(r["suite_images_per_s"] for r in lines), 1)
    return totals


def options(device: torch.device, quick: bool) -> dict:
    """Steps/s of the default step (digits, batch 64) under each GPU option, after a warm-up."""
    variants = {
        "none": {"cuda_fast_paths": False},
        "fast_paths": {},
        "fast_paths+bf16": {"autocast": "bf16"},
        **({"fast_paths+compile": {"compile": True}} if device.type == "cuda" else {}),
    }
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    found = {}
    for name, fields in variants.items():
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.benchmark = False
        trainer, batches, _ = trainer_and_batches(device, **fields)
        use_fast_paths(trainer.config, device)
        for step in range(20 if fields.get("compile") else 5):  # warm-up (and compilation)
            trainer.step(batches.real(step), None)
        sync()
        steps, start = 10 if quick else 100, time.perf_counter()
        for step in range(steps):
            trainer.step(batches.real(step), None)
        sync()
        found[name] = steps / (time.perf_counter() - start)
    return {"steps_per_s": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--out", help="result file (default: reports/perf/gpu-DEVICE.json)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    quick = device.type == "cpu"  # the dry run: the same steps at smaller sizes
    torch.set_num_threads(torch.get_num_threads())
    result = {"device": device_name(device), "torch": torch.__version__, "quick": quick}
    for name, measure in [
        ("bench", lambda: bench(device.type, quick)),
        ("profile", lambda: profile_steps(device)),
        ("host_reads_in_20_steps", lambda: syncs(device)),
        ("timings", lambda: timings(device, 1000 if quick else 10_000)),
        ("sharing", lambda: sharing(device.type, quick)),
        ("options", lambda: options(device, quick)),
    ]:
        start = time.perf_counter()
        result[name] = measure()
        print(f"{name}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    out = Path(args.out or Path(__file__).parent / f"gpu-{device.type}.json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
