"""medlab.report: headline metrics a papermill runner can read back."""

import json

import numpy as np
import pytest

from medlab import report


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.delenv(report.ENV_VAR, raising=False)
    report.clear()
    yield
    report.clear()


def test_record_returns_plain_values_and_prints_nothing(capsys):
    out = report.record(test_auc=np.float32(0.5), n=np.int64(3), ok=True, name="seed", nan=float("nan"))
    assert out == {"test_auc": 0.5, "n": 3, "ok": True, "name": "seed", "nan": None}
    assert type(out["n"]) is int and type(out["test_auc"]) is float
    assert capsys.readouterr().out == ""
    with pytest.raises(TypeError, match="'bad'"):
        report.record(bad=[1, 2])


def test_record_writes_every_metric_so_far_when_the_variable_is_set(tmp_path, monkeypatch):
    path = tmp_path / "runs" / "metrics.json"
    monkeypatch.setenv(report.ENV_VAR, str(path))
    report.record(val_auc=0.9)
    report.record(test_auc=0.8, val_auc=0.95)
    assert report.read(path) == {"val_auc": 0.95, "test_auc": 0.8}
    assert json.loads(path.read_text()) == report.recorded()
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]  # no temporary left


def test_without_the_variable_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report.record(a=1)
    assert list(tmp_path.iterdir()) == []


def test_read_explains_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="MEDLAB_METRICS_PATH"):
        report.read(tmp_path / "none.json")
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(ValueError, match="JSON object"):
        report.read(tmp_path / "list.json")
