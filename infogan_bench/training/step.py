"""Trainer: the models, their optimisers and one InfoGAN step; what a checkpoint holds.

Each step is d_steps D updates (each on its own real and generated batch) then one G update,
and with q_optimizer=separate one info update; with ema_decay, a moving average of G follows:

- with-d (the paper's code): L_I is in D's and G's loss; Q's head trains in D's step.
- with-g: L_I is in D's and G's loss; Q's head trains in G's step (the trunk still in D's).
- separate: D and G train on the adversarial loss alone; then one Adam step over G, the trunk
  and Q's head on L_I of a fresh batch of latents (the common PyTorch InfoGAN recipe).

Q's terms on real images (labelled CE, thickness guidance, real-image consistency) go wherever
Q's head trains.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from infogan_bench.config import ConfigError, RunConfig
from infogan_bench.data.augment import random_affine
from infogan_bench.device import fast_paths_on
from infogan_bench.errors import first_line
from infogan_bench.nets.latent import Latent, sample_latent, scored_code, split_q
from infogan_bench.nets.models import Discriminator, Generator, build_models
from infogan_bench.rundir import CheckpointError, holds_only_weights
from infogan_bench.scoring.metrics.thickness import ThicknessScale
from infogan_bench.training import losses
from infogan_bench.training.ema import MovingAverage

Labelled = tuple[torch.Tensor, torch.Tensor]  # (images (B, C, H, W), labels (B,))


@dataclass
class Trainer:
    """Models, optimisers and the latent random generator: everything a checkpoint holds."""

    config: RunConfig
    generator: Generator
    discriminator: Discriminator
    opt_g: torch.optim.Adam
    opt_d: torch.optim.Adam
    opt_info: torch.optim.Adam | None  # q_optimizer=separate: G, trunk and Q's head on L_I
    ema: MovingAverage | None  # ema_decay > 0: the moving average of G, which draws samples
    rng: torch.Generator  # latents and labelled batches
    device: torch.device
    supervised_code: int  # categorical code trained on labelled real images
    guidance: ThicknessScale | None  # cont_guidance=thickness: targets of code 0 on real images

    @classmethod
    def create(
        cls,
        config: RunConfig,
        image_shape: tuple[int, int, int],
        n_classes: int,
        device: torch.device,
        guidance: ThicknessScale | None = None,
    ) -> Trainer:
        torch.manual_seed(config.seed)  # weight init
        generator, discriminator = build_models(config, image_shape)
        generator.to(device)
        discriminator.to(device)
        fused = fast_paths_on(config, device)
        opt_g, opt_d, opt_info = _optimisers(config, generator, discriminator, fused)
        ema = MovingAverage(generator, config.ema_decay) if config.ema_decay > 0 else None
        if config.compile:  # in place: the weights keep their names in checkpoints
            generator.compile()
            discriminator.trunk.compile()
        rng = torch.Generator(device=device).manual_seed(config.seed)
        supervised_code = scored_code(config, n_classes)
        if config.supervised_fraction > 0 and supervised_code is None:
            raise ConfigError(
                f"supervised_fraction: needs a categorical code with {n_classes} classes"
            )
        if config.cont_guidance == "thickness" and image_shape[0] != 1:
            raise ConfigError(
                f"cont_guidance: thickness needs 1-channel images; {config.dataset} has {image_shape[0]}"
            )
        return cls(
            config=config,
            generator=generator,
            discriminator=discriminator,
            opt_g=opt_g,
            opt_d=opt_d,
            opt_info=opt_info,
            ema=ema,
            rng=rng,
            device=device,
            supervised_code=supervised_code or 0,
            guidance=guidance,
        )

    @property
    def sampler(self) -> Generator:
        """The G that draws every sample and score: the moving average when there is one."""
        return self.generator if self.ema is None else self.ema.module

    def state_dict(self, step: int) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "step": step,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            **({"generator_ema": self.ema.state_dict()} if self.ema else {}),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            **({"opt_info": self.opt_info.state_dict()} if self.opt_info else {}),
            "rng": self.rng.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> int:
        """Restore from a checkpoint dict, or only the models from a weights-only one (the
        default W&B model Artifact: enough to sample and score, not to resume); returns its step."""
        try:
            self.generator.load_state_dict(state["generator"])
            self.discriminator.load_state_dict(state["discriminator"])
            if self.ema is not None:
                self.ema.load_state_dict(state["generator_ema"])
            if holds_only_weights(state):
                return int(state["step"])
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
            if self.opt_info:
                self.opt_info.load_state_dict(state["opt_info"])
            self._restore_rng(state["rng"], int(state["step"]))
        except (KeyError, RuntimeError, ValueError) as err:
            raise CheckpointError(
                f"checkpoint does not match this config's models: {first_line(err)}"
            ) from None
        return int(state["step"])

    def _restore_rng(self, rng_state: torch.Tensor, step: int) -> None:
        """The latent generator's state, or, from a device of the other kind (a CPU state is
        5,056 bytes, a CUDA one 16: their generators differ), a fresh one seeded by (seed,
        step): the run continues with its own stream on this device instead of failing."""
        if rng_state.numel() == self.rng.get_state().numel():
            self.rng.set_state(rng_state)
            return
        self.rng.manual_seed(self.config.seed * 1_000_003 + step)
        print(
            f"infogan-bench: note: last.pt's random state is from another kind of device; "
            f"latents continue from a fresh stream seeded by (seed, step {step})",
            file=sys.stderr,
        )

    def _generate(self, latent: Latent) -> torch.Tensor:
        """G's images of the latents (B, C, H, W), in fp32 whatever the autocast."""
        with torch.autocast(self.device.type, torch.bfloat16, enabled=self._bf16):
            return self.generator(latent.vector()).float()

    def _trunk(self, images: torch.Tensor) -> torch.Tensor:
        """D's shared features (B, F), in fp32: with autocast bf16 only the trunk and G run
        under autocast; the small heads, the losses and the updates stay fp32."""
        with torch.autocast(self.device.type, torch.bfloat16, enabled=self._bf16):
            return self.discriminator.trunk(images).float()

    def _q(self, images: torch.Tensor) -> torch.Tensor:
        return self.discriminator.q_head(self._trunk(images))

    @property
    def _bf16(self) -> bool:
        return self.config.autocast == "bf16"

    def step(self, real_images: torch.Tensor, labelled: Labelled | None) -> dict[str, torch.Tensor]:
        """d_steps D updates, one G and (separate) one info update; real_images (d_steps * B, C,
        H, W) holds a batch for each D update. Returns detached losses of the last D update and
        of G's (no host sync)."""
        *early_batches, real_images = real_images.chunk(self.config.d_steps)
        for real_batch in early_batches:  # D's extra updates, each on fresh latents
            latent = sample_latent(self.config, real_batch.shape[0], self.rng, self.device)
            with torch.no_grad():
                fake_batch = self._generate(latent)
            self.d_step(real_batch, fake_batch, latent, labelled)
        latent = sample_latent(self.config, real_images.shape[0], self.rng, self.device)
        fake_images = self._generate(latent)  # (B, C, H, W)
        stats = self.d_step(real_images, fake_images.detach(), latent, labelled)
        stats |= self.g_step(real_images, fake_images, latent, labelled)
        if self.opt_info is not None:
            stats |= self.info_step(real_images, labelled)
        if self.ema is not None:
            self.ema.update(self.generator)
        return {k: stats[k].detach() for k in sorted(stats)}  # loss_d, loss_g before their parts

    def d_step(
        self,
        real_images: torch.Tensor,
        fake_images: torch.Tensor,
        latent: Latent,
        labelled: Labelled | None,
    ) -> dict[str, torch.Tensor]:
        # D: maximize log D(x) + log(1 - D(G(z))) (or hinge), plus lambda * L_I (with-d, with-g)
        config, D = self.config, self.discriminator
        real_features, fake_features = self._trunk(real_images), self._trunk(fake_images)
        real_logits, q_real = D.d_head(real_features).squeeze(1), D.q_head(real_features)
        fake_logits, q_fake = D.d_head(fake_features).squeeze(1), D.q_head(fake_features)
        d_adv = losses.d_adversarial_loss(
            real_logits, fake_logits, config.label_smoothing, config.adv_loss
        )
        stats = {
            "loss_d_adv": d_adv,
            "d_real": torch.sigmoid(real_logits).mean(),
            "d_fake": torch.sigmoid(fake_logits).mean(),
            "d_separation": losses.d_separation(real_logits.detach(), fake_logits.detach()),
        }
        d_loss = d_adv
        if config.q_optimizer != "separate":
            d_loss = d_loss + self._info_loss(q_fake, latent, stats, fake_images)
        if config.q_optimizer == "with-d":
            d_loss = d_loss + self._q_real_loss(q_real, real_images, labelled, stats)
        stats["loss_d"] = d_loss
        _update(self.opt_d, d_loss)
        return stats

    def g_step(
        self,
        real_images: torch.Tensor,
        fake_images: torch.Tensor,
        latent: Latent,
        labelled: Labelled | None,
    ) -> dict[str, torch.Tensor]:
        # G (non-saturating): maximize log D(G(z)) (hinge: D(G(z))), plus lambda * L_I (with-d, with-g) and
        # feature matching; D's weights outside opt_g are held fixed here
        config, D = self.config, self.discriminator
        D.requires_grad_(False)
        D.q_head.requires_grad_(config.q_optimizer == "with-g")
        fake_features = self._trunk(fake_images)  # (B, F)
        g_adv = losses.g_adversarial_loss(D.d_head(fake_features).squeeze(1), config.adv_loss)
        stats = {"loss_g_adv": g_adv}
        g_loss = g_adv
        if config.q_optimizer != "separate":
            stats_g: dict[str, torch.Tensor] = {}  # L_I is logged from D's step
            g_loss = g_loss + self._info_loss(D.q_head(fake_features), latent, stats_g, fake_images)
        if config.q_optimizer == "with-g":
            g_loss = g_loss + self._q_real_loss(None, real_images, labelled, stats)
        if config.feature_matching > 0:
            with torch.no_grad():
                real_features = self._trunk(real_images)
            fm = losses.feature_matching_loss(real_features, fake_features)
            stats["loss_feature_matching"] = fm
            g_loss = g_loss + config.feature_matching * fm
        stats["loss_g"] = g_loss
        _update(self.opt_g, g_loss)
        D.requires_grad_(True)
        return stats

    def info_step(
        self, real_images: torch.Tensor, labelled: Labelled | None
    ) -> dict[str, torch.Tensor]:
        # G, trunk, Q: maximize lambda * L_I on fresh latents (q_optimizer=separate)
        latent = sample_latent(self.config, real_images.shape[0], self.rng, self.device)
        fake_images = self._generate(latent)
        stats: dict[str, torch.Tensor] = {}
        info_loss = self._info_loss(self._q(fake_images), latent, stats, fake_images)
        info_loss = info_loss + self._q_real_loss(None, real_images, labelled, stats)
        assert self.opt_info is not None
        _update(self.opt_info, info_loss)
        return stats

    def _info_loss(
        self,
        q_params: torch.Tensor,
        latent: Latent,
        stats: dict[str, torch.Tensor],
        fake_images: torch.Tensor,
    ) -> torch.Tensor:
        """lambda_cat * L_cat + lambda_cont * L_cont of Q's parameters on generated images, and
        with info_augment, lambda_cat * info_augment * L_cat of Q on an augmented copy of them."""
        config = self.config
        cat_loss, cont_loss = losses.info_losses(q_params, latent, config)
        stats.update(loss_info_cat=cat_loss, loss_info_cont=cont_loss)
        loss = config.lambda_cat * cat_loss + config.lambda_cont * cont_loss
        if config.info_augment > 0:
            augmented = random_affine(fake_images, config.augment_strength, self.rng)
            aug_logits, _, _ = split_q(self._q(augmented), config)
            stats["loss_info_cat_aug"] = losses.cat_info_loss(aug_logits, latent.cat_idx)
            loss = loss + config.lambda_cat * config.info_augment * stats["loss_info_cat_aug"]
        return loss

    def _q_real_loss(
        self,
        q_real: torch.Tensor | None,
        real_images: torch.Tensor,
        labelled: Labelled | None,
        stats: dict[str, torch.Tensor],
    ) -> torch.Tensor:
        """Q's terms on real images: labelled CE (supervised_fraction), thickness guidance and
        the consistency of Q's categories under augmentation (real_consistency).

        q_real: Q's parameters of real_images if already computed (else computed when needed).
        """
        config = self.config
        loss = torch.zeros((), device=self.device)
        if labelled is not None:
            sup_images, sup_labels = labelled
            sup_logits, _, _ = split_q(self._q(sup_images), config)
            stats["loss_supervised"] = F.cross_entropy(sup_logits[self.supervised_code], sup_labels)
            loss = loss + config.lambda_cat * stats["loss_supervised"]
        if self.guidance is not None:
            q_real = self._q(real_images) if q_real is None else q_real
            _, mean, _ = split_q(q_real, config)
            stats["loss_guidance"] = F.mse_loss(mean[:, 0], self.guidance(real_images))
            loss = loss + config.lambda_cont * stats["loss_guidance"]
        if config.real_consistency > 0:
            q_real = self._q(real_images) if q_real is None else q_real
            augmented = random_affine(real_images, config.augment_strength, self.rng)
            logits, _, _ = split_q(q_real, config)
            aug_logits, _, _ = split_q(self._q(augmented), config)
            terms = losses.real_consistency_losses(logits, aug_logits)
            stats.update(terms)
            loss = loss + config.real_consistency * sum(terms.values())
        return loss


def _update(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def _optimisers(
    config: RunConfig, generator: Generator, discriminator: Discriminator, fused: bool = False
) -> tuple[torch.optim.Adam, torch.optim.Adam, torch.optim.Adam | None]:
    """opt_g, opt_d and (separate) opt_info, with Q's head where q_optimizer puts it; fused:
    torch's one-kernel Adam (CUDA), else its default for the device."""
    adam = {"betas": (config.beta1, config.beta2), "fused": fused or None}
    d_params = [*discriminator.trunk.parameters(), *discriminator.d_head.parameters()]
    q_params = list(discriminator.q_head.parameters())
    g_params = list(generator.parameters())
    d_groups: list[dict[str, Any]] = [{"params": d_params}]
    g_groups: list[dict[str, Any]] = [{"params": g_params}]
    opt_info = None
    # Q's head joins D's or G's parameter group, or gets its own group when lr_q is set
    q_group = {"params": q_params, "lr": config.lr_q} if config.lr_q else None
    if config.q_optimizer in ("with-d", "with-g"):
        groups = d_groups if config.q_optimizer == "with-d" else g_groups
        if q_group:
            groups.append(q_group)
        else:
            groups[0]["params"].extend(q_params)
    else:
        info_params = [*g_params, *discriminator.trunk.parameters(), *q_params]
        opt_info = torch.optim.Adam(info_params, lr=config.lr_q or config.lr_d, **adam)
    opt_g = torch.optim.Adam(g_groups, lr=config.lr_g, **adam)
    opt_d = torch.optim.Adam(d_groups, lr=config.lr_d, **adam)
    return opt_g, opt_d, opt_info
