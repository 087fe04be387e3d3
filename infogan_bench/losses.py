"""Every loss of the InfoGAN objective; the only place losses branch."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from infogan_bench.config import RunConfig
from infogan_bench.latent import Latent, split_q


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
