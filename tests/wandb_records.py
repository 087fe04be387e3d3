"""Read the records of an offline W&B run's binary log (run-ID.wandb) for assertions.

The file is W&B's transaction log: a 7-byte header (":W&B", magic, version), then LevelDB-style
log records in 32 KiB blocks (crc32 u32, length u16, type u8, payload); each full record
is one protobuf `Record`.
"""

from __future__ import annotations

import struct
import time
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


def finished_records(path: Path, timeout_s: float = 60.0) -> list[wandb_internal_pb2.Record]:
    """The log's records once W&B has written its closing `exit` record.

    `run.finish()` can return before W&B's service has flushed the log to disk (seen on a
    loaded CI machine), so wait for the closing record instead of reading a partial file.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        records = read_records(path) if path.exists() else []
        if records and records[-1].WhichOneof("record_type") == "exit":
            return records
        if time.monotonic() > deadline:
            kinds = [r.WhichOneof("record_type") for r in records]
            raise AssertionError(f"{path} has no exit record after {timeout_s} s: {kinds}")
        time.sleep(0.2)


def config_and_summary(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Config items and summary items (JSON-encoded values) of a finished run's log."""
    config: dict[str, str] = {}
    summary: dict[str, str] = {}
    for record in finished_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "config":
            config.update({item.key: item.value_json for item in record.config.update})
        elif kind == "run":
            config.update({item.key: item.value_json for item in record.run.config.update})
        elif kind == "summary":
            summary.update({item.key: item.value_json for item in record.summary.update})
    return config, summary
