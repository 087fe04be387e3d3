import threading

import torch

from infogan_bench.data.datasets import load_dataset
from infogan_bench.scoring.domain import cached_reference
from tests.conftest import wait_for


def test_two_processes_wanting_one_reference_compute_it_once(tmp_path, capsys):
    """The second caller waits on the first's lock and reads its file (flock conflicts between
    two open() calls, so two threads stand in for two campaign lanes). The first computes until
    the second has said it waits: no timing is assumed."""
    data = load_dataset("digits", "unused")
    calls = []
    second_waits = threading.Event()

    def held_features(images: torch.Tensor) -> torch.Tensor:
        calls.append(len(images))
        assert second_waits.wait(timeout=60), "the second caller never waited for the lock"
        return images.flatten(1)[:, 300:308]  # (N, 8): pixels near the centre

    path = tmp_path / "digits.real.pt"
    results: list = [None, None]

    def reference(i: int) -> None:
        results[i] = cached_reference(path, held_features, data)

    threads = [threading.Thread(target=reference, args=(i,)) for i in range(2)]
    threads[0].start()
    wait_for(lambda: calls, timeout=60)  # the first holds the lock and computes
    threads[1].start()
    said = []
    wait_for(lambda: said.append(capsys.readouterr().err) or "waiting for another" in "".join(said))
    second_waits.set()
    for thread in threads:
        thread.join()
    assert len(calls) == 2  # the test split's features and the floor's train images, once
    (first, floor), (second, floor_again) = results
    assert torch.equal(first, second) and floor == floor_again > 0
    assert f"waiting for another process to write {path}" in "".join(said)
