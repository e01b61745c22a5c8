"""Inference: class probabilities from a model, with the test-time augmentation that validation chooses, and the
soft-voting ensemble that validation chooses. Choices read validation only; test probabilities are carried."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..dataset.data import Subset
from .metrics import accuracy, metrics
from .models import margin

# test-time views (flip, shift), fewest views first: a tie keeps the cheaper option
TTA_OPTIONS = {"plain": (False, False), "flip_tta": (True, False), "shift_tta": (False, True), "ten_crop": (True, True)}
# what a page calls each option
TTA_LABELS = {"plain": "none", "flip_tta": "flip", "shift_tta": "windows", "ten_crop": "windows × flip"}


def predict(model, x: np.ndarray, flip_tta: bool = False, shift_tta: bool = False) -> np.ndarray:
    """Class probabilities, averaged over the test-time views asked for: with `flip_tta`, the mirrored images;
    with `shift_tta` (a model that looks at a window, `models.Window`), the four corner windows besides the centre
    one. Both give ten views: the ten-crop test of the published recipes."""
    edge = margin(model) if shift_tta else 0
    if shift_tta and not edge:
        raise ValueError(
            f"shift_tta needs a model that looks at a window (models.Window): {getattr(model, 'name', model)!r}"
            " has none"
        )
    views = [
        np.roll(x, shift, axis=(1, 2))
        for shift in [(0, 0)] + [(dy, dx) for dy in (-edge, edge) for dx in (-edge, edge)] * bool(edge)
    ]
    views += [view[:, :, ::-1] for view in views] * flip_tta
    return np.mean([model.predict(view, batch_size=256, verbose=0) for view in views], axis=0)


def evaluate(model, test: Subset, flip_tta: bool = False, shift_tta: bool = False) -> dict:
    """`metrics.metrics` of `model` on the test subset (with the test-time views of `predict`)."""
    return metrics(predict(model, test.x(), flip_tta, shift_tta), test)


@dataclass(frozen=True)
class TTA:
    """The test-time augmentation validation chose (`choose_tta`); `TTA()` is none."""

    kept: str = "plain"  # the option kept: the best one where it beats plain on validation
    best: str = "plain"  # the best option besides plain, reported on test either way
    val_accuracy: dict = field(default_factory=dict)  # {option: validation accuracy} of each option tried

    @property
    def options(self) -> dict:
        """`predict`'s keyword arguments for the kept option."""
        return dict(zip(("flip_tta", "shift_tta"), TTA_OPTIONS[self.kept], strict=True))

    @property
    def label(self) -> str:
        return TTA_LABELS[self.kept]

    @property
    def kept_accuracy(self) -> float:
        return self.val_accuracy[self.kept]

    def to_json(self) -> dict:
        """The choice as results/<model>.json holds it: the kept views, the best option, each option's accuracy."""
        scores = {f"val_accuracy_{name}": score for name, score in self.val_accuracy.items() if name != "plain"}
        return {**self.options, "best": self.best, "val_accuracy": self.val_accuracy.get("plain"), **scores}

    @classmethod
    def from_json(cls, saved: dict | None) -> TTA:
        """The choice `to_json` wrote; none where nothing was saved."""
        if not isinstance(saved, dict):
            return cls()
        views = (bool(saved.get("flip_tta")), bool(saved.get("shift_tta")))
        kept = next(name for name, option in TTA_OPTIONS.items() if option == views)
        scores = {"plain": saved.get("val_accuracy")} | {
            name: saved[f"val_accuracy_{name}"] for name in TTA_OPTIONS if f"val_accuracy_{name}" in saved
        }
        return cls(kept, saved.get("best", kept), scores)


def as_chosen(saved: dict) -> dict:
    """A saved model's test metrics as validation chose to run it (`experiments.save_model_result`): with the
    test-time augmentation it kept (saved["tta"]["test"]), the plain ones where it kept none."""
    return saved["tta"]["test"] if TTA.from_json(saved.get("tta")).kept != "plain" else saved


def tta_options(model) -> dict:
    """The options of `TTA_OPTIONS` that `model` allows: shifted windows only for a model that looks at a window."""
    window = bool(margin(model))
    return {name: views for name, views in TTA_OPTIONS.items() if window or not views[1]}


def tta_views(model_or_probs, val: Subset) -> dict:
    """{option: class probabilities on `val`}: the given ones (a stored run's, `store.StoredRun.views`), or those of
    every option the model allows."""
    if isinstance(model_or_probs, dict):
        return dict(model_or_probs)
    return {name: predict(model_or_probs, val.x(), *views) for name, views in tta_options(model_or_probs).items()}


def choose_tta(model_or_probs, val: Subset) -> TTA:
    """Test-time augmentation chosen on validation: the option (`TTA_OPTIONS`) with the best validation accuracy,
    kept only when it beats plain. `model_or_probs`: a model, or its {option: probabilities} on `val`."""
    scores = {name: accuracy(probs, val.labels) for name, probs in tta_views(model_or_probs, val).items()}
    best = max((name for name in scores if name != "plain"), key=scores.get, default="plain")
    return TTA(best if scores[best] > scores["plain"] else "plain", best, scores)


def tta_probabilities(model, val: Subset, test: Subset) -> tuple[TTA, dict]:
    """`choose_tta` for `model` on `val`, and its class probabilities as chosen: {"val": …, "test": …}, what
    `select_ensemble` averages."""
    views = tta_views(model, val)
    chosen = choose_tta(views, val)
    return chosen, {"val": views[chosen.kept], "test": predict(model, test.x(), **chosen.options)}


def select_ensemble(val_probs: dict, val_labels: np.ndarray, max_members: int = 3) -> dict:
    """Greedy soft-voting ensemble chosen on validation.

    Starts from the model with the best validation accuracy, then adds, one at a time, the model whose
    averaged probabilities raise validation accuracy most; stops when none raises it or at `max_members`.
    Returns {"members": [names, in the order added], "val_accuracy": [accuracy after each addition]}.
    """
    if not val_probs or max_members < 1:
        raise ValueError(f"select_ensemble needs models and max_members >= 1, got {len(val_probs)} and {max_members}")

    def score(names):
        return accuracy(np.mean([val_probs[n] for n in names], axis=0), val_labels)

    members, path = [], []
    while len(members) < max_members:
        candidates = {name: score(members + [name]) for name in val_probs if name not in members}
        best = max(candidates, key=candidates.get, default=None)
        if best is None or (path and candidates[best] <= path[-1]):
            break
        members.append(best)
        path.append(candidates[best])
    return {"members": members, "val_accuracy": path}


def seed_ensemble(views: dict[str, dict], val: Subset) -> dict:
    """An arm's seeds averaged, against its best seed, on validation only: each with the test-time augmentation
    validation chooses (`choose_tta`; the ensemble's views are every option's probabilities averaged over the
    members). `views`: {member: {option: probabilities on `val`}}, such as `store.StoredRun.views("val")`.
    Returns the members, the ensemble's TTA and validation accuracy, the best member with its TTA and accuracy,
    and "use_ensemble": whether the ensemble beats the best member (what `predict` follows)."""
    if len(views) < 2:
        raise ValueError(f"an ensemble needs two members or more, got {len(views)}")
    options = set.intersection(*(set(member) for member in views.values()))
    averaged = {option: np.mean([member[option] for member in views.values()], axis=0) for option in options}
    ensemble = choose_tta(averaged, val)
    singles = {name: choose_tta(member, val) for name, member in views.items()}
    best = max(singles, key=lambda name: singles[name].kept_accuracy)
    return {
        "members": list(views),
        "tta": ensemble.to_json(),
        "val_accuracy": ensemble.kept_accuracy,
        "best_member": best,
        "best_member_tta": singles[best].to_json(),
        "best_member_val_accuracy": singles[best].kept_accuracy,
        "use_ensemble": ensemble.kept_accuracy > singles[best].kept_accuracy,
    }
