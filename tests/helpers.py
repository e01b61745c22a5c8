"""Helpers that several test modules share: synthetic images and splits, claim runs, book builds, glue outputs.

Fixtures live in conftest.py; these are plain functions and constants, imported as `from helpers import …`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import nbformat
import numpy as np
import yaml

from fer_helpers import config
from fer_helpers.book import runbook
from fer_helpers.dataset.data import Split, Subset

ROOT = config.ROOT
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"

# FER_BOOK_ALLOW_DRAFTS=1: build and check the book without the draft notebooks and the pages that glue
# from them (and skip their cleanliness test) instead of failing on them. Off by default: the book shows
# committed outputs; CI sets it while chapters wait for their full-profile run.
ALLOW_DRAFTS = os.environ.get("FER_BOOK_ALLOW_DRAFTS") == "1"

# The forms a data set is read from, and the seeds of a claim's synthetic runs.
FORMS = ("folder", "zip", "csv", "icml")
SEEDS = (42, 43, 44)


# --- images and splits ------------------------------------------------------------------------------


def smooth_images(n, seed=0):
    """Distinct natural-looking images: blurred random fields stretched to the full grey range."""
    rng = np.random.default_rng(seed)
    fields = [cv2.GaussianBlur(rng.random((48, 48)).astype(np.float32), (0, 0), 3) for _ in range(n)]
    return np.stack([cv2.normalize(f, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8) for f in fields])


def shifted(image, lift):
    """The image with every pixel lifted by `lift` grey levels, clipped to 0..255."""
    return np.clip(image.astype(int) + lift, 0, 255).astype(np.uint8)


def named_subset(images, labels, prefix, part="Training"):
    ids = np.array([f"{prefix}_{k}" for k in range(len(images))])
    return Subset(np.asarray(images, np.uint8), np.asarray(labels, np.int8), ids, np.array([part] * len(images)))


def make_split(train, val, test, train_labels=None, val_labels=None, test_labels=None):
    """A smoke Split from three image stacks; labels cycle through the seven classes unless given."""
    labels = lambda imgs, given: np.arange(len(imgs)) % 7 if given is None else given  # noqa: E731
    return Split(
        named_subset(train, labels(train, train_labels), "Training"),
        named_subset(val, labels(val, val_labels), "TrainingVal"),
        named_subset(test, labels(test, test_labels), "PrivateTest", "PrivateTest"),
        "synthetic",
        "smoke",
    )


def labelled(labels, parts=None, leak_free=None, images=None):
    """A test Subset of blank images with these labels (PrivateTest unless `parts` says otherwise)."""
    n = len(labels)
    parts = np.asarray(parts if parts is not None else ["PrivateTest"] * n)
    images = np.zeros((n, 48, 48), np.uint8) if images is None else images
    return Subset(images, np.asarray(labels), np.array([f"x_{i}" for i in range(n)]), parts, leak_free=leak_free)


def one_hot_probs(predicted, confidence=0.9):
    """Class probabilities that put `confidence` on each predicted class and spread the rest."""
    probs = np.full((len(predicted), 7), (1 - confidence) / 6)
    probs[np.arange(len(predicted)), predicted] = confidence
    return probs


def texts(fig) -> list[str]:
    """The texts drawn inside a figure's axes."""
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def assert_same(a, b):
    """Two data sets hold the same images, labels, ids and parts in the same order."""
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(a.parts, b.parts)


def weights_equal(a, b) -> bool:
    """Two Keras models hold exactly the same weights."""
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights(), strict=True))


def claim_runs(accuracies, n=1000, seed=0):
    """{seed: bool correctness over n images} with exactly the given accuracies (shuffled positions)."""
    rng = np.random.default_rng(seed)
    return {s: rng.permutation(np.arange(n) < round(a * n)) for s, a in zip(SEEDS, accuracies, strict=False)}


# --- the book ---------------------------------------------------------------------------------------


def build(source: Path, output: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """`jupyter-book build SOURCE --all -W -n --keep-going`, as `make html` runs it; with `output`, into
    OUTPUT/_build/html (so a test never overwrites the book `make html` built)."""
    where = ["--path-output", str(output)] if output else []
    return subprocess.run(
        [str(JUPYTER_BOOK), "build", str(source), "--all", "-W", "-n", "--keep-going", *where],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=source,
    )


def warnings_in(log: str) -> list[str]:
    """The WARNING and ERROR lines of a build log, without colour codes."""
    return [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in log.splitlines() if "WARNING" in line or "ERROR" in line]


def toc_pages(root: Path = ROOT) -> list[str]:
    """Docnames of every page in _toc.yml, globs expanded the way sphinx-external-toc does."""

    def entries(node):
        if isinstance(node, dict):
            if "file" in node:
                yield ("file", node["file"])
            if "glob" in node:
                yield ("glob", node["glob"])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []):
                    yield from entries(child)

    toc = yaml.safe_load((root / "_toc.yml").read_text())
    pages = [toc["root"]]
    for kind, value in entries(toc):
        if kind == "file":
            pages.append(re.sub(r"\.(md|ipynb)$", "", value))
        else:
            pages += sorted(
                p.relative_to(root).with_suffix("").as_posix()
                for p in root.glob(value)
                if p.suffix in (".md", ".ipynb")
            )
    return pages


def glue_output(name: str, data: dict) -> nbformat.NotebookNode:
    """The output `myst_nb.glue(name, value, display=False)` leaves in a notebook."""
    prefix = "application/papermill.record/"
    return nbformat.v4.new_output(
        "display_data",
        data={prefix + k: v for k, v in data.items()},
        metadata={"scrapbook": {"name": name, "mime_prefix": prefix}},
    )


def kernel_installed() -> bool:
    """The project's Jupyter kernel is registered (`make env` does it)."""
    from jupyter_client.kernelspec import KernelSpecManager

    return runbook.KERNEL in KernelSpecManager().find_kernel_specs()
