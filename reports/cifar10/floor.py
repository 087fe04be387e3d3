"""The copy's real-vs-real Inception FID at the published protocol: all 50,000 train images
against the 10,000 test images (the campaign's floor, 5.18, is 10k vs 10k). About an hour of
one core; the train features are computed in chunks of 5,000 kept in the suite's cache, so an
interrupted run continues where it stopped. Writes reports/cifar10/floor.json:
    OMP_NUM_THREADS=1 python reports/cifar10/floor.py [DATA_DIR]
"""

import json
import sys
import time
from pathlib import Path

import torch

from infogan_bench.data.datasets import load_dataset
from infogan_bench.rundir import atomic_save
from infogan_bench.scoring.inception import (
    inception_cache,
    inception_extractor,
    inception_features,
    real_inception_reference,
)
from infogan_bench.scoring.metrics.fid import frechet_distance

CHUNK = 5_000


def train_features(data_dir: str) -> tuple[torch.Tensor, torch.Tensor, float]:
    """pool3 features of every train image, of the test split, and the cached 10k-vs-10k floor."""
    data = load_dataset("cifar10", data_dir)
    extractor = inception_extractor()
    test, floor_10k = real_inception_reference("cifar10", data, extractor)
    chunks = []
    for start in range(0, len(data.train_images), CHUNK):
        path = inception_cache("cifar10", extractor, f"train-{start:05d}")
        if path.exists():
            features = torch.load(path, weights_only=True)["features"]
        else:
            features = inception_features(extractor, data.train_images[start : start + CHUNK])
            atomic_save({"features": features}, path)
            print(
                f"train images {start + len(features):,} of {len(data.train_images):,}", flush=True
            )
        chunks.append(features)
    return torch.cat(chunks), test, floor_10k


def main() -> None:
    data_dir = sys.argv[1] if len(sys.argv) > 1 else "../shared/data"
    began = time.monotonic()
    train, test, floor_10k = train_features(data_dir)
    result = {
        "fid_inception_50k_vs_10k": frechet_distance(train, test),
        "fid_inception_10k_vs_10k": floor_10k,
        "fid_inception_10k_vs_10k_recomputed": frechet_distance(train[: len(test)], test),
        "train_images": len(train),
        "test_images": len(test),
        "wall_time_s": round(time.monotonic() - began),
        "threads": torch.get_num_threads(),
    }
    Path("reports/cifar10/floor.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
