import json

import pytest
import wandb

from infogan_bench.train import train
from tests.wandb_records import config_and_summary


def _offline_logs(run_dir):
    return sorted(run_dir.glob("wandb/offline-run-*/run-*.wandb"))


def test_offline_wandb_run_holds_config_and_summary(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    config = tiny_config(tracker="wandb", d_norm="spectral", seed=3)
    summary = train(config)
    logs = _offline_logs(tmp_path / "run")
    assert len(logs) == 1
    logged_config, logged_summary = config_and_summary(logs[0])
    assert (
        json.loads(logged_config["d_norm"]) == "spectral" and json.loads(logged_config["seed"]) == 3
    )
    assert json.loads(logged_summary["cat_acc"]) == pytest.approx(summary["cat_acc"])
    assert json.loads(logged_summary["status"]) == "finished"


def test_tracker_none_writes_no_wandb_files(tiny_config, tmp_path):
    train(tiny_config(tracker="none"))
    assert not list((tmp_path / "run").rglob("*wandb*"))


def test_resume_continues_the_same_wandb_run(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    train(tiny_config(tracker="wandb"))
    train(tiny_config(tracker="wandb", resume=True, steps=6))
    ids = {log.stem for log in _offline_logs(tmp_path / "run")}
    assert len(_offline_logs(tmp_path / "run")) == 2 and len(ids) == 1


def test_online_without_key_falls_back_to_offline(tiny_config, monkeypatch, capsys):
    calls = []
    real_init = wandb.init

    def init(mode, **kwargs):
        calls.append(mode)
        if mode == "online":
            raise wandb.UsageError("No API key configured")
        return real_init(mode=mode, **kwargs)

    monkeypatch.setattr(wandb, "init", init)
    summary = train(tiny_config(tracker="wandb", wandb_mode="online"))
    assert calls == ["online", "offline"] and summary["status"] == "finished"
    err = capsys.readouterr().err
    assert "logging offline" in err and "wandb sync" in err
