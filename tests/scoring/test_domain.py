import torch

from infogan_bench.scoring.domain import GPU_MIN_BATCH, batched


def test_batched_keeps_the_cpus_chunks_and_gives_a_gpu_larger_ones():
    def chunks_of(images: torch.Tensor, batch: int) -> list[int]:
        seen: list[int] = []
        out = batched(lambda x: seen.append(len(x)) or x * 2, images, batch)
        assert out.shape == images.shape
        return seen

    assert chunks_of(torch.ones(60, 3), 25) == [25, 25, 10]
    # a tensor on another device (meta: shapes without data, as a GPU's would be chunked)
    assert chunks_of(torch.ones(1200, 3, device="meta"), 25) == [GPU_MIN_BATCH, GPU_MIN_BATCH, 200]
    assert chunks_of(torch.ones(1200, 3, device="meta"), 1000) == [1000, 200]
