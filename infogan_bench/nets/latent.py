"""The latent layout: what G is fed and what Q gives back, in one place.

G's input (B, noise_dim + sum(classes) + n_cont): [noise z ~ U(-1, 1) | one-hot categorical
codes | continuous codes ~ U(-1, 1)]. Q's output (B, q_output_size): the logits of each
categorical code, then the continuous means, then (gaussian-nll) their log-sigmas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from infogan_bench.config import RunConfig

LOG_SIGMA_RANGE = (-5.0, 2.0)  # clamp of Q's predicted log-sigma (gaussian-nll), for stability


def latent_dim(config: RunConfig) -> int:
    """Width of G's input."""
    return config.noise_dim + sum(config.cat_class_counts) + config.n_cont_codes


def q_output_size(config: RunConfig) -> int:
    """Categorical logits, then continuous means, then (gaussian-nll) continuous log-sigmas."""
    per_cont = 2 if config.q_cont_loss == "gaussian-nll" else 1
    return sum(config.cat_class_counts) + per_cont * config.n_cont_codes


@dataclass
class Latent:
    """One batch of generator inputs and the codes Q must recover."""

    noise: torch.Tensor  # (B, noise_dim) ~ U(-1, 1)
    cat_idx: torch.Tensor  # (B, n_cat_codes) int64, each uniform over its classes
    cont: torch.Tensor  # (B, n_cont_codes) ~ U(-1, 1)
    cat_class_counts: list[int]

    def to(self, device: torch.device) -> Latent:
        return Latent(
            self.noise.to(device),
            self.cat_idx.to(device),
            self.cont.to(device),
            self.cat_class_counts,
        )

    def vector(self) -> torch.Tensor:
        """(B, noise_dim + sum(classes) + n_cont): [noise | one-hot codes | continuous codes]."""
        # a comparison, not F.one_hot: its index checks read the tensor to the host on a CPU
        one_hots = [
            (self.cat_idx[:, k, None] == torch.arange(n, device=self.cat_idx.device)).float()
            for k, n in enumerate(self.cat_class_counts)
        ]
        return torch.cat([self.noise, *one_hots, self.cont], dim=1)


def sample_latent(
    config: RunConfig, batch: int, gen: torch.Generator, device: torch.device
) -> Latent:
    counts = config.cat_class_counts
    noise = torch.rand(batch, config.noise_dim, generator=gen, device=device) * 2 - 1
    cat_idx = (
        torch.stack(
            [torch.randint(n, (batch,), generator=gen, device=device) for n in counts], dim=1
        )
        if counts
        else torch.zeros(batch, 0, dtype=torch.int64, device=device)
    )
    cont = torch.rand(batch, config.n_cont_codes, generator=gen, device=device) * 2 - 1
    return Latent(noise, cat_idx, cont, counts)


def split_q(
    q_params: torch.Tensor, config: RunConfig
) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor | None]:
    """(B, q_out) -> (logits per categorical code, continuous means (B, n_cont), log-sigmas or None)."""
    counts = config.cat_class_counts
    logits = list(torch.split(q_params[:, : sum(counts)], counts, dim=1)) if counts else []
    rest = q_params[:, sum(counts) :]
    n = config.n_cont_codes
    mean = rest[:, :n]
    log_sigma = (
        rest[:, n : 2 * n].clamp(*LOG_SIGMA_RANGE) if config.q_cont_loss == "gaussian-nll" else None
    )
    return logits, mean, log_sigma


def code_entropy(config: RunConfig) -> float:
    """H(c) of the uniform categorical codes, nats."""
    return sum(math.log(n) for n in config.cat_class_counts)


def scored_code(config: RunConfig, n_classes: int) -> int | None:
    """Index of the categorical code scored for accuracy: the first with n_classes classes."""
    for k, count in enumerate(config.cat_class_counts):
        if count == n_classes:
            return k
    return None
