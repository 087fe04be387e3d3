import threading
import time

import torch

from infogan_bench.data.datasets import load_dataset
from infogan_bench.scoring.domain import cached_reference


def test_two_processes_wanting_one_reference_compute_it_once(tmp_path, capsys):
    """The second caller waits on the first's lock and reads its file (flock conflicts between
    two open() calls, so two threads stand in for two campaign lanes)."""
    data = load_dataset("digits", "unused")
    calls = []

    def slow_features(images: torch.Tensor) -> torch.Tensor:
        calls.append(len(images))
        time.sleep(0.5)
        return images.flatten(1)[:, 300:308]  # (N, 8): pixels near the centre

    path = tmp_path / "digits.real.pt"
    results: list = [None, None]

    def reference(i: int) -> None:
        results[i] = cached_reference(path, slow_features, data)

    threads = [threading.Thread(target=reference, args=(i,)) for i in range(2)]
    threads[0].start()
    time.sleep(0.2)  # the first holds the lock
    threads[1].start()
    for thread in threads:
        thread.join()
    assert len(calls) == 2  # the test split's features and the floor's train images, once
    (first, floor), (second, floor_again) = results
    assert torch.equal(first, second) and floor == floor_again > 0
    assert f"waiting for another process to write {path}" in capsys.readouterr().err
