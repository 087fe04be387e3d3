"""Sample grids at fixed noise: categories x noise, and one traversal per continuous code."""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.utils import save_image

from infogan_bench.config import RunConfig
from infogan_bench.nets.latent import Latent
from infogan_bench.nets.models import Generator, eval_mode

GRID_SEED = 1234  # fixed noise, so grids of different runs and steps are comparable
N_COLUMNS = 10
TRAVERSAL_RANGE = (-2.0, 2.0)  # wider than the U(-1, 1) prior, as in the paper's Fig. 2


def _rows(config: RunConfig) -> int:
    counts = config.cat_class_counts
    return counts[0] if counts else N_COLUMNS


def _grid_latent(config: RunConfig, rows: int, device: torch.device) -> Latent:
    """(rows * N_COLUMNS) latents: row r has category r of code 0; all else fixed by GRID_SEED."""
    gen = torch.Generator().manual_seed(GRID_SEED)
    n = rows * N_COLUMNS
    noise = (torch.rand(n, config.noise_dim, generator=gen) * 2 - 1).to(device)
    cat_idx = torch.zeros(n, len(config.cat_class_counts), dtype=torch.int64, device=device)
    if config.cat_class_counts:
        cat_idx[:, 0] = torch.arange(rows, device=device).repeat_interleave(N_COLUMNS)
    cont = torch.zeros(n, config.n_cont_codes, device=device)
    return Latent(noise, cat_idx, cont, config.cat_class_counts)


@torch.no_grad()
def category_grid(generator: Generator, config: RunConfig, device: torch.device) -> torch.Tensor:
    """(rows * 10, C, H, W): rows = values of categorical code 0, columns = fixed noise vectors."""
    latent = _grid_latent(config, _rows(config), device)
    return generator(latent.vector())


@torch.no_grad()
def traversal_grid(
    generator: Generator, config: RunConfig, code: int, device: torch.device
) -> torch.Tensor:
    """(rows * 10, C, H, W): rows = categories (one noise per row), columns = code `code` in [-2, 2]."""
    rows = _rows(config)
    latent = _grid_latent(config, rows, device)
    row_noise = latent.noise.view(rows, N_COLUMNS, -1)[:, :1]  # one noise vector per row
    latent.noise = row_noise.expand(rows, N_COLUMNS, config.noise_dim).reshape(-1, config.noise_dim)
    values = torch.linspace(*TRAVERSAL_RANGE, N_COLUMNS, device=device)
    latent.cont[:, code] = values.repeat(rows)
    return generator(latent.vector())


def save_sample_grids(
    generator: Generator, config: RunConfig, out_dir: Path, device: torch.device
) -> list[Path]:
    """Write categories.png and traversal_c{k}.png; returns their paths."""
    with eval_mode(generator):
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = [out_dir / "categories.png"]
        save_image(category_grid(generator, config, device), paths[0], nrow=N_COLUMNS, padding=1)
        for code in range(config.n_cont_codes):
            paths.append(out_dir / f"traversal_c{code}.png")
            save_image(
                traversal_grid(generator, config, code, device),
                paths[-1],
                nrow=N_COLUMNS,
                padding=1,
            )
    return paths
