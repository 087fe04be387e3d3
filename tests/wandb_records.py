"""Read the records of an offline W&B run's binary log (run-ID.wandb) for assertions.

The file is W&B's transaction log: a 7-byte header (":W&B", magic, version), then LevelDB-style
log records in 32 KiB blocks (crc32 u32, length u16, type u8, payload); each full record
is one protobuf `Record`.
"""

from __future__ import annotations

import struct
from pathlib import Path

from wandb.proto import wandb_internal_pb2

BLOCK = 32 * 1024
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_records(path: Path) -> list[wandb_internal_pb2.Record]:
    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B log"
    pos, records, pending = 7, [], b""
    while pos + 7 <= len(data):
        room = BLOCK - pos % BLOCK
        if room < 7:  # block trailer padding
            pos += room
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        payload = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind == 0 and length == 0:
            continue
        pending = payload if kind in (FULL, FIRST) else pending + payload
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
    return records


def config_and_summary(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Config items and summary items (JSON-encoded values) found in the log."""
    config: dict[str, str] = {}
    summary: dict[str, str] = {}
    for record in read_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "config":
            config.update({item.key: item.value_json for item in record.config.update})
        elif kind == "run":
            config.update({item.key: item.value_json for item in record.run.config.update})
        elif kind == "summary":
            summary.update({item.key: item.value_json for item in record.summary.update})
    return config, summary
