import pytest
import torch
from torch import nn

from infogan_bench.training.ema import MovingAverage, ramped_decay


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))


def test_the_ema_of_constant_weights_is_those_weights():
    net = _net()
    ema = MovingAverage(net, decay=0.999)
    for _ in range(20):
        ema.update(net)
    for averaged, current in zip(
        ema.module.state_dict().values(), net.state_dict().values(), strict=True
    ):
        assert torch.equal(averaged, current)


@pytest.mark.parametrize("updates", [1, 5, 50, 2000])
def test_an_update_moves_the_average_by_the_ramped_decays_share(updates):
    net = _net()
    ema = MovingAverage(net, decay=0.99)
    for _ in range(updates):  # the first update copies; n_averaged counts every one
        ema.update(net)
    before = ema.module[0].weight.detach().clone()
    with torch.no_grad():
        net[0].weight.add_(1.0)
        net[1].running_mean.add_(2.0)  # BatchNorm's statistics follow too
    decay = min(0.99, (1 + updates) / (10 + updates))
    ema.update(net)
    expected = decay * before + (1 - decay) * net[0].weight
    torch.testing.assert_close(ema.module[0].weight, expected)
    assert ema.module[1].running_mean == pytest.approx(
        (1 - decay) * net[1].running_mean.detach(), abs=1e-6
    )


def test_the_ramp_reaches_the_decay_and_stays():
    decays = [ramped_decay(0.999, n) for n in (0, 10, 1000, 10_000, 10**6)]
    assert decays == pytest.approx([0.1, 0.55, 1001 / 1010, 0.999, 0.999])


def test_the_checkpoint_entry_restores_the_average_and_its_count():
    net = _net()
    ema = MovingAverage(net, decay=0.9)
    for _ in range(3):
        ema.update(net)
    with torch.no_grad():
        net[0].weight.add_(1.0)
    ema.update(net)
    again = MovingAverage(_net(), decay=0.9)
    again.load_state_dict(ema.state_dict())
    assert again.updates == 4 and set(ema.state_dict()) >= {"module.0.weight", "n_averaged"}
    torch.testing.assert_close(again.module[0].weight, ema.module[0].weight)
