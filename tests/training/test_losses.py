import math

import pytest
import torch
import torch.nn.functional as F

from infogan_bench.config import RunConfig
from infogan_bench.nets import latent
from infogan_bench.training import losses
from infogan_bench.training.step import Trainer


def test_info_loss_alone_updates_generator_q_head_and_shared_trunk(monkeypatch):
    # zero the adversarial terms: every weight that moves was moved by the info loss
    monkeypatch.setattr(
        losses, "d_adversarial_loss", lambda real, fake, *_: 0 * (real.sum() + fake.sum())
    )
    monkeypatch.setattr(losses, "g_adversarial_loss", lambda fake, *_: 0 * fake.sum())
    torch.manual_seed(0)
    trainer = Trainer.create(RunConfig(), (1, 28, 28), n_classes=10, device=torch.device("cpu"))
    D, G = trainer.discriminator, trainer.generator
    before = {
        name: p.detach().clone()
        for name, p in [*D.named_parameters(), *G.named_parameters(prefix="g")]
    }
    trainer.step(torch.rand(8, 1, 28, 28), None)
    after = dict([*D.named_parameters(), *G.named_parameters(prefix="g")])
    moved = {name for name in before if not torch.equal(before[name], after[name])}
    assert {
        "trunk.0.weight",
        "trunk.2.weight",
        "trunk.6.weight",
    } <= moved  # every trunk conv/linear
    assert {"q_head.0.weight", "q_head.3.weight"} <= moved
    assert any(name.startswith("g.") for name in moved)
    assert not {"d_head.weight", "d_head.bias"} & moved


def test_mi_lower_bound_is_entropy_minus_cross_entropy():
    config = RunConfig(cat_codes="10,4")
    assert latent.code_entropy(config) == pytest.approx(math.log(10) + math.log(4))
    # perfect logits: CE -> 0, so L_I -> H(c)
    cat_idx = torch.tensor([[3, 1], [7, 0]])
    logits = [
        torch.nn.functional.one_hot(cat_idx[:, 0], 10) * 50.0,
        torch.nn.functional.one_hot(cat_idx[:, 1], 4) * 50.0,
    ]
    assert losses.cat_info_loss(logits, cat_idx) == pytest.approx(0.0, abs=1e-6)
    # uniform logits: CE = H(c), so L_I = 0
    uniform = [torch.zeros(2, 10), torch.zeros(2, 4)]
    assert losses.cat_info_loss(uniform, cat_idx) == pytest.approx(latent.code_entropy(config))


def test_continuous_losses_known_values():
    mean = torch.tensor([[0.5, 0.0], [0.0, 0.0]])
    cont = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    # MSE: code 0 mean (0.25 + 0) / 2, code 1 mean (0 + 1) / 2 -> summed 0.625
    assert losses.cont_info_loss(mean, None, cont) == pytest.approx(0.625)
    # Gaussian NLL with sigma = 1 is 0.5 * sq. error + 0.5 * ln(2 pi) per element
    nll = losses.cont_info_loss(mean, torch.zeros(2, 2), cont)
    assert nll == pytest.approx(0.5 * 0.625 + 2 * 0.5 * math.log(2 * math.pi))
    # a learned sigma that matches the error lowers the NLL below sigma = 1
    assert losses.cont_info_loss(mean, torch.full((2, 2), -1.0), cont) < nll


def test_split_q_clamps_log_sigma():
    config = RunConfig(q_cont_loss="gaussian-nll")
    params = torch.cat([torch.zeros(1, 10), torch.tensor([[0.1, 0.2, -100.0, 100.0]])], dim=1)
    logits, mean, log_sigma = latent.split_q(params, config)
    assert logits[0].shape == (1, 10) and mean.tolist() == [
        [pytest.approx(0.1), pytest.approx(0.2)]
    ]
    assert log_sigma.tolist() == [list(latent.LOG_SIGMA_RANGE)]


def test_label_smoothing_sets_the_real_target_to_one_minus_s():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([-60.0, -60.0])  # fake term ~ 0
    p = torch.sigmoid(real)
    expected = -(0.9 * torch.log(p) + 0.1 * torch.log(1 - p)).mean()
    assert losses.d_adversarial_loss(real, fake, 0.1) == pytest.approx(float(expected), rel=1e-5)
    # the real term is minimised where D(x) = 1 - S, and the fake target stays 0
    at_target = torch.logit(torch.tensor([0.9]), eps=0).requires_grad_()
    losses.d_adversarial_loss(at_target, torch.tensor([-60.0]), 0.1).backward()
    assert at_target.grad.abs().item() < 1e-6
    smoothed = losses.d_adversarial_loss(torch.tensor([-60.0]), torch.tensor([0.0]), 0.1)
    plain = losses.d_adversarial_loss(torch.tensor([-60.0]), torch.tensor([0.0]), 0.0)
    assert smoothed < plain  # a real logit of -60 costs 0.9x as much against target 0.9


def test_feature_matching_is_zero_for_identical_batches_and_grows_with_the_gap():
    features = torch.randn(16, 32)
    assert losses.feature_matching_loss(features, features.clone()) == 0
    # mean features shifted by 0.5 in every dimension: mean squared difference 0.25
    shifted = losses.feature_matching_loss(features, features + 0.5)
    assert shifted == pytest.approx(0.25)
    # only the batch means count: a permuted batch matches exactly
    assert losses.feature_matching_loss(features, features.flip(0)) == pytest.approx(0, abs=1e-12)


def _one_hot_logits(categories: list[int], k: int = 4, sharp: float = 50.0) -> torch.Tensor:
    """Logits (B, k) whose softmax is (numerically) one-hot on each listed category."""
    return sharp * torch.nn.functional.one_hot(torch.tensor(categories), k).float()


def test_real_consistency_is_zero_for_sure_identical_posteriors_over_a_balanced_batch():
    logits = _one_hot_logits([0, 1, 2, 3, 0, 1, 2, 3])
    terms = losses.real_consistency_losses([logits], [logits.clone()])
    assert set(terms) == {
        "loss_real_consistency",
        "loss_real_cond_entropy",
        "loss_real_marginal_gap",
    }
    for value in terms.values():
        assert float(value) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    "categories, aug_categories, positive",
    [
        ([0, 1, 2, 3], [1, 1, 2, 3], "loss_real_consistency"),  # one image changed category
        ([0, 0, 1, 1], [0, 0, 1, 1], "loss_real_marginal_gap"),  # two of four categories used
    ],
)
def test_real_consistency_is_positive_when_posteriors_differ_or_are_unbalanced(
    categories, aug_categories, positive
):
    terms = losses.real_consistency_losses(
        [_one_hot_logits(categories)], [_one_hot_logits(aug_categories)]
    )
    assert float(terms[positive]) > 0.5
    unsure = losses.real_consistency_losses([torch.zeros(4, 4)], [torch.zeros(4, 4)])
    assert float(unsure["loss_real_cond_entropy"]) == pytest.approx(math.log(4))  # uniform p
    assert float(unsure["loss_real_marginal_gap"]) == pytest.approx(0.0, abs=1e-6)


def test_real_consistency_pulls_the_augmented_posterior_toward_the_images():
    # KL(p || p_aug) with p held fixed: the gradient reaches only the augmented copy's logits
    logits = torch.randn(6, 5, requires_grad=True)
    aug_logits = torch.randn(6, 5, requires_grad=True)
    terms = losses.real_consistency_losses([logits], [aug_logits])
    terms["loss_real_consistency"].backward()
    assert logits.grad is None or torch.all(logits.grad == 0)
    assert aug_logits.grad is not None and aug_logits.grad.abs().sum() > 0
    # the two codes of a 2-code layout add up
    both = losses.real_consistency_losses([logits, logits], [aug_logits, aug_logits])
    assert float(both["loss_real_consistency"].detach()) == pytest.approx(
        2 * float(terms["loss_real_consistency"].detach())
    )


def test_real_consistency_trains_q_head_and_trunk_in_ds_step(monkeypatch):
    # zero every other term: what moves in D's step is moved by the real-image terms
    monkeypatch.setattr(
        losses, "d_adversarial_loss", lambda real, fake, *_: 0 * (real.sum() + fake.sum())
    )
    monkeypatch.setattr(losses, "info_losses", lambda q, latent, config: (0 * q.sum(), 0 * q.sum()))
    config = RunConfig(real_consistency=1.0)
    trainer = Trainer.create(config, (1, 28, 28), n_classes=10, device=torch.device("cpu"))
    D = trainer.discriminator
    before = {name: p.detach().clone() for name, p in D.named_parameters()}
    stats = trainer.d_step(
        torch.rand(8, 1, 28, 28),
        trainer.generator(
            latent.sample_latent(config, 8, trainer.rng, torch.device("cpu")).vector()
        ).detach(),
        latent.sample_latent(config, 8, trainer.rng, torch.device("cpu")),
        None,
    )
    moved = {name for name, p in D.named_parameters() if not torch.equal(before[name], p)}
    assert {"trunk.0.weight", "q_head.0.weight"} <= moved and not any("d_head" in n for n in moved)
    assert {"loss_real_consistency", "loss_real_cond_entropy", "loss_real_marginal_gap"} <= set(
        stats
    )


@pytest.mark.parametrize("q_optimizer", ["with-d", "with-g", "separate"])
def test_info_augment_at_strength_0_reads_the_code_from_the_image_itself(q_optimizer):
    # the affine at strength 0 is the identity: the second L_cat is the first, in every step
    config = RunConfig(info_augment=1.0, augment_strength=0.0, q_optimizer=q_optimizer)
    trainer = Trainer.create(config, (1, 28, 28), n_classes=10, device=torch.device("cpu"))
    stats = trainer.step(torch.rand(8, 1, 28, 28), None)
    assert float(stats["loss_info_cat_aug"]) == pytest.approx(float(stats["loss_info_cat"]))


def test_info_augment_trains_g_through_the_affine(monkeypatch):
    # zero every other term of G's step: G moves only by the L_cat of its augmented images
    monkeypatch.setattr(losses, "g_adversarial_loss", lambda fake, *_: 0 * fake.sum())
    monkeypatch.setattr(losses, "info_losses", lambda q, latent, config: (0 * q.sum(), 0 * q.sum()))
    config = RunConfig(info_augment=1.0, augment_strength=2.0)
    trainer = Trainer.create(config, (1, 28, 28), n_classes=10, device=torch.device("cpu"))
    G = trainer.generator
    before = {name: p.detach().clone() for name, p in G.named_parameters()}
    code = latent.sample_latent(config, 8, trainer.rng, torch.device("cpu"))
    stats = trainer.g_step(torch.rand(8, 1, 28, 28), G(code.vector()), code, None)
    assert all(not torch.equal(before[n], p) for n, p in G.named_parameters())
    assert float(stats["loss_g"].detach()) > 0  # the augmented L_cat, all that is left of G's loss


def test_hinge_losses_on_known_logits():
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-3.0, 0.0, 0.5])
    # D: mean(max(0, 1 - real)) + mean(max(0, 1 + fake)) = (0 + 0.5 + 2)/3 + (0 + 1 + 1.5)/3
    assert losses.d_adversarial_loss(real, fake, kind="hinge") == pytest.approx(5.0 / 3)
    # G: -mean(fake)
    assert losses.g_adversarial_loss(fake, "hinge") == pytest.approx(2.5 / 3)


def test_d_separation_is_the_share_of_pairs_ranked_right():
    real = torch.tensor([3.0, 1.0])
    assert losses.d_separation(real, torch.tensor([0.0, -1.0])) == 1.0
    assert losses.d_separation(real, torch.tensor([2.0, 5.0])) == 0.25  # only 3 > 2
    assert losses.d_separation(real, real + 10) == 0.0


def test_the_gaussian_nll_equals_torchs_on_clamped_log_sigmas():
    torch.manual_seed(0)
    mean, cont = torch.randn(64, 3), torch.rand(64, 3) * 2 - 1
    log_sigma = (torch.randn(64, 3) * 3).clamp(-5.0, 2.0)
    torchs = F.gaussian_nll_loss(mean, cont, torch.exp(2 * log_sigma), full=True, reduction="none")
    expected = torchs.mean(0).sum()
    assert losses.cont_info_loss(mean, log_sigma, cont) == pytest.approx(float(expected), rel=1e-5)
