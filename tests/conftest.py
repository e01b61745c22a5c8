"""Shared fixtures: synthetic FER-2013 in its three forms; the real data set when it is present."""

from pathlib import Path

import numpy as np
import pytest

from fer_helpers import config, data, synthetic
from fer_helpers.sources import DataNotFound, locate


@pytest.fixture(scope="session")
def forms(tmp_path_factory):
    """A small synthetic data set written as a Kaggle folder, a zip and a fer2013.csv."""
    dataset = synthetic.make_dataset(train_per_class=6, test_per_class=2)
    return synthetic.write_forms(dataset, tmp_path_factory.mktemp("forms"))


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Point the project's data and output folders at a temporary directory."""
    monkeypatch.setattr(config, "DATA_DIR", tmp_path / "data")
    monkeypatch.setattr(config, "CACHE_DIR", tmp_path / "data" / "cache")
    monkeypatch.delenv(config.DATA_ENV, raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def real_data_path() -> Path:
    try:
        return locate()
    except DataNotFound:
        pytest.skip(f"real FER-2013 not found (set {config.DATA_ENV}); real-data tests skipped")


@pytest.fixture(scope="session")
def tiny_split():
    """A synthetic Split small enough to train on in a second (20 train faces per class before the val split)."""
    dataset = synthetic.make_dataset(train_per_class=20, test_per_class=4)
    manifest = data.make_manifest(dataset)

    def subset(name):
        rows = np.flatnonzero(manifest["split"].to_numpy() == name)
        return data.Subset(dataset.images[rows], dataset.labels[rows], dataset.ids[rows], dataset.parts[rows])

    return data.Split(subset("train"), subset("val"), subset("test"), "synthetic", "smoke")


@pytest.fixture
def tiny_profile(tmp_path):
    """A profile writing under tmp_path, with budgets of one or two epochs."""
    return config.Profile("smoke", None, {"autoencoder": 1, "baseline": 1, "protocol": 2}, tmp_path)


def pytest_terminal_summary(terminalreporter):
    """Say in the final summary which data the tests and notebooks ran on."""
    try:
        where = f"the real FER-2013 ({locate()})"
    except DataNotFound:
        where = (
            f"SYNTHETIC faces: no FER-2013 was found (set {config.DATA_ENV}), so the notebooks ran on "
            "synthetic data and the real-data tests were skipped"
        )
    terminalreporter.write_sep("-", f"data: {where}")
