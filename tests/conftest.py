"""Shared fixtures: synthetic FER-2013 in its three forms; the real data set when it is present."""
from pathlib import Path

import pytest

from fer_helpers import config, synthetic
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


@pytest.fixture(autouse=True)
def explicit_profile(monkeypatch):
    """Unit tests name their profile; FER_PROFILE (set by `make test` for the notebooks) must not override it."""
    monkeypatch.delenv(config.PROFILE_ENV, raising=False)
