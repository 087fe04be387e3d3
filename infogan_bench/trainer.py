"""Trainer: the models, their optimisers and one InfoGAN step; what a checkpoint holds.

Each step is one D/Q update then one G update (the paper's official code): the info loss
L_I enters both, so it trains Q's head, the shared trunk and G.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from infogan_bench import losses
from infogan_bench.config import ConfigError, RunConfig
from infogan_bench.evaluate import scored_code
from infogan_bench.models import Discriminator, Generator, build_models
from infogan_bench.rundir import CheckpointError


@dataclass
class Trainer:
    """Models, optimisers and the latent random generator: everything a checkpoint holds."""

    config: RunConfig
    generator: Generator
    discriminator: Discriminator
    opt_g: torch.optim.Adam
    opt_d: torch.optim.Adam
    rng: torch.Generator  # latents and labelled batches
    device: torch.device
    supervised_code: (
        int  # categorical code trained on labelled real images (supervised_fraction > 0)
    )

    @classmethod
    def create(
        cls,
        config: RunConfig,
        image_shape: tuple[int, int, int],
        n_classes: int,
        device: torch.device,
    ) -> Trainer:
        torch.manual_seed(config.seed)  # weight init
        generator, discriminator = build_models(config, image_shape)
        generator.to(device)
        discriminator.to(device)
        betas = (config.beta1, config.beta2)
        # Trunk and D head train with D; Q's head with D (paper's code) or with G.
        d_params = [*discriminator.trunk.parameters(), *discriminator.d_head.parameters()]
        g_params = list(generator.parameters())
        q_params = list(discriminator.q_head.parameters())
        (d_params if config.q_optimizer == "with-d" else g_params).extend(q_params)
        opt_d = torch.optim.Adam(d_params, lr=config.lr_d, betas=betas)
        opt_g = torch.optim.Adam(g_params, lr=config.lr_g, betas=betas)
        rng = torch.Generator(device=device).manual_seed(config.seed)
        supervised_code = scored_code(config, n_classes)
        if config.supervised_fraction > 0 and supervised_code is None:
            raise ConfigError(
                f"supervised_fraction: needs a categorical code with {n_classes} classes"
            )
        return cls(
            config, generator, discriminator, opt_g, opt_d, rng, device, supervised_code or 0
        )

    def state_dict(self, step: int) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "step": step,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng": self.rng.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> int:
        """Restore from a checkpoint dict; returns its step."""
        try:
            self.generator.load_state_dict(state["generator"])
            self.discriminator.load_state_dict(state["discriminator"])
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
            self.rng.set_state(state["rng"].cpu())  # map_location may have moved it
        except (KeyError, RuntimeError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CheckpointError(
                f"checkpoint does not match this config's models: {first}"
            ) from None
        return int(state["step"])

    def step(
        self, real_images: torch.Tensor, labelled: tuple[torch.Tensor, torch.Tensor] | None
    ) -> dict[str, torch.Tensor]:
        """One D/Q update and one G update; returns detached losses (no host sync)."""
        config, D, G = self.config, self.discriminator, self.generator
        batch = real_images.shape[0]
        latent = losses.sample_latent(config, batch, self.rng, self.device)
        fake_images = G(latent.vector())  # (B, C, H, W)

        # D, Q: maximize log D(x) + log(1 - D(G(z))) + lambda * L_I(G, Q)
        real_logits, _ = D(real_images)
        fake_logits, q_fake = D(fake_images.detach())
        d_adv = losses.d_adversarial_loss(real_logits, fake_logits)
        cat_loss, cont_loss = self._info_losses(q_fake, latent)
        d_loss = d_adv + config.lambda_cat * cat_loss + config.lambda_cont * cont_loss
        sup_loss = torch.zeros((), device=self.device)
        if labelled is not None:
            sup_images, sup_labels = labelled
            sup_logits, _, _ = losses.split_q(D.q(sup_images), config)
            sup_loss = F.cross_entropy(sup_logits[self.supervised_code], sup_labels)
            d_loss = d_loss + config.lambda_cat * sup_loss
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()

        # G: maximize log D(G(z)) + lambda * L_I(G, Q); weights outside opt_g are held fixed here
        D.trunk.requires_grad_(False)
        D.d_head.requires_grad_(False)
        D.q_head.requires_grad_(self.config.q_optimizer == "with-g")
        fake_logits_g, q_fake_g = D(fake_images)
        g_cat, g_cont = self._info_losses(q_fake_g, latent)
        g_adv = losses.g_adversarial_loss(fake_logits_g)
        g_loss = g_adv + config.lambda_cat * g_cat + config.lambda_cont * g_cont
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        D.requires_grad_(True)

        return {
            "loss_d": d_loss.detach(),
            "loss_g": g_loss.detach(),
            "loss_d_adv": d_adv.detach(),
            "loss_g_adv": g_adv.detach(),
            "loss_info_cat": cat_loss.detach(),
            "loss_info_cont": cont_loss.detach(),
            "loss_supervised": sup_loss.detach(),
            "d_real": torch.sigmoid(real_logits.detach()).mean(),
            "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
        }

    def _info_losses(
        self, q_params: torch.Tensor, latent: losses.Latent
    ) -> tuple[torch.Tensor, torch.Tensor]:
        logits, mean, log_sigma = losses.split_q(q_params, self.config)
        return losses.cat_info_loss(logits, latent.cat_idx), losses.cont_info_loss(
            mean, log_sigma, latent.cont
        )


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "device: cuda requested but no CUDA device is available; use --device cpu"
        )
    return torch.device(name)
