"""Every loss of the InfoGAN objective; the only place losses branch."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from infogan_bench.config import RunConfig
from infogan_bench.nets.latent import Latent, split_q
from infogan_bench.scoring.metrics.posterior import marginal_entropy

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def d_adversarial_loss(
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    label_smoothing: float = 0.0,
    kind: str = "non-saturating",
) -> torch.Tensor:
    """D's adversarial loss on its logits (B,) of a real and a generated batch."""
    if kind == "hinge":
        # D: minimize E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))] (Lim & Ye 2017; SNGAN)
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()
    # D: maximize log D(x) + log(1 - D(G(z))); one-sided smoothing: real target 1 - S, fake 0
    real_target = torch.full_like(real_logits, 1.0 - label_smoothing)
    real = F.binary_cross_entropy_with_logits(real_logits, real_target)
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def g_adversarial_loss(fake_logits: torch.Tensor, kind: str = "non-saturating") -> torch.Tensor:
    """G's adversarial loss on D's logits (B,) of its images."""
    if kind == "hinge":
        # G: maximize E[D(G(z))]
        return -fake_logits.mean()
    # G (non-saturating): maximize log D(G(z))
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def d_separation(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Share of (real, generated) pairs D ranks right, real above generated: the batch's AUC
    of D's logits (B,), 0.5 for a D that cannot tell, 1 for one that separates every pair.
    Rank-based, so it means the same under any adversarial loss."""
    return (real_logits[:, None] > fake_logits[None, :]).float().mean()


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
    # -log N(c; mean, sigma^2) = log sigma + (c - mean)^2 / (2 sigma^2) + log(2 pi) / 2, written
    # out: F.gaussian_nll_loss checks its variance with torch.any (a GPU sync every call); with
    # log sigma clamped to LOG_SIGMA_RANGE the variance is positive and above its eps clamp
    nll = log_sigma + 0.5 * (cont - mean).pow(2) * torch.exp(-2 * log_sigma) + HALF_LOG_2PI
    return nll.mean(0).sum()


def info_losses(
    q_params: torch.Tensor, latent: Latent, config: RunConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """(L_cat, L_cont) of Q's parameters (B, q_out) for the images G drew from latent."""
    logits, mean, log_sigma = split_q(q_params, config)
    return cat_info_loss(logits, latent.cat_idx), cont_info_loss(mean, log_sigma, latent.cont)


def real_consistency_losses(
    logits: list[torch.Tensor], aug_logits: list[torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Q's categorical posterior p on real images (IMSAT, Hu et al. 2017), summed over codes:

    - consistency: KL(p || p_aug), p of the image held fixed, p_aug of its augmented copy;
    - cond_entropy: mean H(p), low when Q is sure of each image's category;
    - marginal_gap: log K - H(mean p), zero when the batch's categories are balanced.
    Each is >= 0; all are 0 for confident, augmentation-proof posteriors over a balanced batch.
    logits, aug_logits: per categorical code (B, K), of the images and of their copies.
    """
    zero = aug_logits[0].new_zeros(()) if aug_logits else torch.zeros(())
    consistency, cond_entropy, marginal_gap = zero, zero, zero
    for code_logits, code_aug_logits in zip(logits, aug_logits, strict=True):
        log_p = F.log_softmax(code_logits, dim=1)
        p = log_p.exp()
        target = log_p.detach()
        consistency = consistency + F.kl_div(
            F.log_softmax(code_aug_logits, dim=1), target, log_target=True, reduction="batchmean"
        )
        cond_entropy = cond_entropy - (p * log_p).sum(1).mean()
        marginal_gap = marginal_gap + math.log(p.shape[1]) - marginal_entropy(p)
    return {
        "loss_real_consistency": consistency,
        "loss_real_cond_entropy": cond_entropy,
        "loss_real_marginal_gap": marginal_gap,
    }
