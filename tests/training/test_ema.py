import pytest
import torch
from torch import nn

from infogan_bench.training.ema import moving_average, ramped_decay


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))


def test_the_ema_of_constant_weights_is_those_weights():
    net = _net()
    ema = moving_average(net, decay=0.999)
    for _ in range(20):
        ema.update_parameters(net)
    for averaged, current in zip(
        ema.module.state_dict().values(), net.state_dict().values(), strict=True
    ):
        assert torch.equal(averaged, current)


@pytest.mark.parametrize("updates", [1, 5, 50, 2000])
def test_an_update_moves_the_average_by_the_ramped_decays_share(updates):
    net = _net()
    ema = moving_average(net, decay=0.99)
    for _ in range(updates):  # the first update copies; n_averaged counts every one
        ema.update_parameters(net)
    before = ema.module[0].weight.detach().clone()
    with torch.no_grad():
        net[0].weight.add_(1.0)
        net[1].running_mean.add_(2.0)  # BatchNorm's statistics follow too
    decay = min(0.99, (1 + updates) / (10 + updates))
    ema.update_parameters(net)
    expected = decay * before + (1 - decay) * net[0].weight
    torch.testing.assert_close(ema.module[0].weight, expected)
    assert ema.module[1].running_mean == pytest.approx(
        (1 - decay) * net[1].running_mean.detach(), abs=1e-6
    )


def test_the_ramp_reaches_the_decay_and_stays():
    n = torch.tensor([0.0, 10.0, 1000.0, 10_000.0, 1e6])
    expected = torch.tensor([0.1, 0.55, 1001 / 1010, 0.999, 0.999])
    torch.testing.assert_close(ramped_decay(0.999, n), expected)
