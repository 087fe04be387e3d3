"""Latent sampling and every loss of the InfoGAN objective; the only place losses branch."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from infogan_bench.config import RunConfig

LOG_SIGMA_RANGE = (-5.0, 2.0)  # clamp of Q's predicted log-sigma (gaussian-nll), for stability


@dataclass
class Latent:
    """One batch of generator inputs and the codes Q must recover."""

    noise: torch.Tensor  # (B, noise_dim) ~ U(-1, 1)
    cat_idx: torch.Tensor  # (B, n_cat_codes) int64, each uniform over its classes
    cont: torch.Tensor  # (B, n_cont_codes) ~ U(-1, 1)
    cat_class_counts: list[int]

    def vector(self) -> torch.Tensor:
        """(B, noise_dim + sum(classes) + n_cont): [noise | one-hot codes | continuous codes]."""
        one_hots = [
            F.one_hot(self.cat_idx[:, k], n).float() for k, n in enumerate(self.cat_class_counts)
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


def d_adversarial_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, label_smoothing: float = 0.0
) -> torch.Tensor:
    # D: maximize log D(x) + log(1 - D(G(z))); one-sided smoothing: real target 1 - S, fake 0
    real_target = torch.full_like(real_logits, 1.0 - label_smoothing)
    real = F.binary_cross_entropy_with_logits(real_logits, real_target)
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def g_adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    # G (non-saturating): maximize log D(G(z))
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def feature_matching_loss(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of the batch-mean D-trunk features (B, F), real vs fake (Salimans 2016)."""
    return (real_features.mean(0) - fake_features.mean(0)).pow(2).mean()


def cat_info_loss(logits: list[torch.Tensor], cat_idx: torch.Tensor) -> torch.Tensor:
    """Sum over categorical codes of the cross-entropy of Q's logits (no softmax before CE)."""
    if not logits:
        return cat_idx.new_zeros((), dtype=torch.float32)
    return sum(F.cross_entropy(code_logits, cat_idx[:, k]) for k, code_logits in enumerate(logits))


def cont_info_loss(
    mean: torch.Tensor, log_sigma: torch.Tensor | None, cont: torch.Tensor
) -> torch.Tensor:
    """Sum over continuous codes of the batch-mean MSE, or of the Gaussian NLL with learned sigma."""
    if cont.shape[1] == 0:
        return mean.new_zeros(())
    if log_sigma is None:
        return F.mse_loss(mean, cont, reduction="none").mean(0).sum()
    var = torch.exp(2 * log_sigma)
    return F.gaussian_nll_loss(mean, cont, var, full=True, reduction="none").mean(0).sum()


def info_losses(
    q_params: torch.Tensor, latent: Latent, config: RunConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """(L_cat, L_cont) of Q's parameters (B, q_out) for the images G drew from latent."""
    logits, mean, log_sigma = split_q(q_params, config)
    return cat_info_loss(logits, latent.cat_idx), cont_info_loss(mean, log_sigma, latent.cont)


def code_entropy(config: RunConfig) -> float:
    """H(c) of the uniform categorical codes, nats."""
    return sum(math.log(n) for n in config.cat_class_counts)
