"""Shared fixtures: synthetic FER-2013 in its three forms; the real data set when it is present; tiny splits and
profiles to train on; claim records; the book built into a folder of its own; figures closed after each test."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: figures draw off screen
import matplotlib.pyplot as plt
import numpy as np
import pytest
from helpers import ALLOW_DRAFTS, ROOT, build, claim_runs, warnings_in

from fer_helpers import config
from fer_helpers.analysis import comparisons
from fer_helpers.analysis.comparisons import Claim
from fer_helpers.book import drafts
from fer_helpers.dataset import data, synthetic
from fer_helpers.dataset.sources import DataNotFound, locate


@pytest.fixture(autouse=True)
def close_figures():
    """Every test closes the figures it drew."""
    yield
    plt.close("all")


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


@pytest.fixture
def claim_records() -> dict:
    """Two comparison records over 1,000 synthetic test images: a claimed level (unet_64, no leak-free mask) and
    a claim between two arms with the leak-free images (unet_vs_cnn)."""
    level = comparisons.assess(
        "unet_64", "reaches 64 %", ("unet",), {"unet": claim_runs([0.655, 0.660, 0.665])}, Claim(level=0.64)
    )
    pair = comparisons.assess(
        "unet_vs_cnn",
        "B beats A",
        ("cnn", "unet"),
        {"cnn": claim_runs([0.6] * 3), "unet": claim_runs([0.62] * 3, seed=1)},
        Claim(),
        leak_free=np.arange(1000) % 2 == 0,
    )
    return {"unet_64": level, "unet_vs_cnn": pair}


@pytest.fixture(scope="session")
def book_source(tmp_path_factory) -> Path:
    """What the book is built from: the project, or, with FER_BOOK_ALLOW_DRAFTS=1 and draft notebooks present, a
    copy without them."""
    found = drafts.drafts()
    if not (found and ALLOW_DRAFTS):
        return ROOT
    source = tmp_path_factory.mktemp("book-without-drafts")
    drafts.copy_without(ROOT, source, found)
    return source


@pytest.fixture(scope="session")
def built_book(book_source, tmp_path_factory) -> Path:
    """The book, built from scratch with warnings as errors, into a folder of its own (never over the project's
    _build/html)."""
    output = book_source if book_source != ROOT else tmp_path_factory.mktemp("built-book")
    result = build(book_source, output)
    log = result.stdout + result.stderr
    found = drafts.drafts()
    hint = (
        (
            f"\nDraft notebooks, not yet run in the full profile (run `make notebooks` and commit them, "
            f"or set FER_BOOK_ALLOW_DRAFTS=1): {[p.name for p in found]}"
        )
        if found and book_source == ROOT
        else ""
    )
    assert result.returncode == 0, "book build failed:\n" + "\n".join(warnings_in(log) or log.splitlines()[-30:]) + hint
    assert not warnings_in(log), "\n".join(warnings_in(log))
    return output / "_build" / "html"


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
