"""What the classifiers look at: GradCAM and friends (tf-keras-vis), face-region shares, sanity checks.

    explainer = Explainer(model)                         # any Functional model with a "last_relu" layer
    cams = explainer.cam(x, classes, "gradcam")          # (N, 48, 48) in [0, 1]; also "gradcam++", "scorecam"
    shares = band_shares(cams)                           # (N, 3): CAM mass in eyes / mouth / rest
    check = randomisation_check(model, x, classes)       # Adebayo et al. (2018): trained vs random weights

The maps come from tf-keras-vis (Gradcam, GradcamPlusPlus, Scorecam, Saliency with SmoothGrad,
ActivationMaximization). Every visualiser replaces the softmax of the "probabilities" layer by the
identity (ReplaceToLinear), so gradients and scores are those of the class logit.

Target layer. Grad-CAM weights the feature maps A^k that the classifier head reads by the mean
gradient of the class score. In the book's models that is the output of "last_relu" (the last
3x3 conv -> BatchNorm -> ReLU), not of "last_conv": the conv's output is pre-BatchNorm, can be
negative, and the BN shift is lost in it. tf-keras-vis, given a non-conv layer, walks back to the
nearest Conv2D unless `seek_penultimate_conv_layer=False`, which this module passes. For the
attention U-Net, whose head is global average pooling -> Dense, Grad-CAM at "last_relu" equals the
class activation map of Zhou et al. (2016) exactly.

Face regions. FER-2013 faces are roughly aligned; on the train split's mean face the eyes are the
dark band around row 17 and the mouth around rows 37-43. `BANDS` fixes two 12-row bands (row
ranges, start inclusive, stop exclusive): eyes rows 12-23 and mouth rows 32-43; "rest" is every
other pixel. Each band covers a quarter of the image, so a uniform map puts 25 % / 25 % / 50 % of
its mass in eyes / mouth / rest (`area_shares`).
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager

import keras
import numpy as np
import pandas as pd

from . import config
from .evaluation import predict

TARGET_LAYER = "last_relu"
MODEL_NAMES = ("baseline_std_model", "attention_unet")
LABELS = {"baseline_std_model": "baseline", "attention_unet": "attention U-Net"}
BANDS = {"eyes": (12, 24), "mouth": (32, 44)}
REGIONS = ("eyes", "mouth", "rest")
METHODS = ("gradcam", "gradcam++", "scorecam")
SIZE = config.IMAGE_SIZE


@contextmanager
def quiet():
    """Silence what tf-keras-vis makes Keras print: input-structure warnings, retracing notes, progress bars."""
    import tensorflow as tf

    interactive = keras.config.is_interactive_logging_enabled()
    keras.config.disable_interactive_logging()
    logger, level = tf.get_logger(), tf.get_logger().level
    logger.setLevel("ERROR")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The structure of `inputs`")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        try:
            yield
        finally:
            logger.setLevel(level)
            if interactive:
                keras.config.enable_interactive_logging()


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


def functional(model: keras.Model) -> keras.Model:
    """`model` as a Functional model: tf-keras-vis fails on Sequential ones ('no attribute output_names').

    A built Sequential model is wrapped (same layers, same weights); one without a defined input
    cannot be, and raises a ValueError saying how to fix it.
    """
    if isinstance(model, keras.Sequential):
        try:
            inputs = model.inputs
        except (AttributeError, ValueError):
            inputs = None
        if not inputs:
            raise ValueError(
                f"Sequential model {model.name!r} has no defined input: tf-keras-vis needs a Functional "
                "model. Start it with keras.Input(shape) (it is then wrapped automatically) or build it "
                "with the Functional API, as fer_helpers.models does."
            )
        return keras.Model(inputs, model.outputs, name=model.name)
    if not isinstance(model, keras.Model) or not hasattr(model, "output_names"):
        raise ValueError(f"expected a Functional Keras model, got {type(model).__name__}")
    return model


def target_layer(model: keras.Model, layer: str = TARGET_LAYER) -> keras.layers.Layer:
    """The layer whose feature maps the CAMs weight; it must give (N, h, w, channels)."""
    try:
        found = model.get_layer(layer)
    except ValueError as error:
        raise ValueError(f"model {model.name!r} has no layer {layer!r} to explain (GradCAM's target layer)") from error
    if len(found.output.shape) != 4:
        raise ValueError(f"layer {layer!r} of {model.name!r} gives {found.output.shape}, not feature maps (N, h, w, c)")
    return found


def load_models(profile: config.Profile, names=MODEL_NAMES) -> dict:
    """{name: model} for the trained classifiers in profile.models_dir; a missing one is skipped with a note.

    In the smoke profile a missing model is replaced by a stand-in trained for one epoch on the
    smoke split (seconds), so that the chapter's code runs even when it runs alone.
    """
    from . import data, models, training

    loaded, split = {}, None
    for name in names:
        path = profile.models_dir / f"{name}.keras"
        if path.exists():
            loaded[name] = keras.saving.load_model(path)
            continue
        if profile.name != "smoke":
            print(f"note: {path.relative_to(profile.output_root)} not found, {name} is skipped "
                  "(run its chapter first)")
            continue
        print(f"note: {name} not found; smoke profile: training a one-epoch stand-in")
        split = split or data.load_split(profile)
        build = {"baseline_std_model": lambda x: models.baseline_std_model(x),
                 "attention_unet": lambda x: models.attention_unet(x, widths=(8, 16, 32, 64))}[name]
        loaded[name] = training.train(build(split.train.x()), split, name, profile, epochs=1).model
    if not loaded:
        raise FileNotFoundError(f"no trained classifier in {profile.models_dir}: run the classifier chapters first")
    return loaded


def randomised(model: keras.Model, seed: int = config.SEED) -> keras.Model:
    """The same architecture with freshly initialised weights (all layers at once: the cascade's end)."""
    keras.utils.set_random_seed(seed)
    return keras.models.clone_model(functional(model))


# ---------------------------------------------------------------------------------------------
# Maps
# ---------------------------------------------------------------------------------------------


def _as_classes(classes, n: int) -> list[int]:
    classes = np.broadcast_to(np.asarray(classes, dtype=int), (n,))
    return [int(c) for c in classes]


def scale_maps(maps: np.ndarray) -> np.ndarray:
    """Each map divided by its maximum (so in [0, 1] for non-negative maps); an all-zero map stays zero."""
    maps = np.asarray(maps, dtype=np.float32)
    top = maps.reshape(len(maps), -1).max(axis=1) if len(maps) else np.zeros(0, np.float32)
    top = np.where(top > 0, top, 1.0).astype(np.float32)
    return maps / top[:, None, None]


class Compiled:
    """A model whose forward pass runs as one tf.function, for tf-keras-vis' step-by-step loops.

    tf-keras-vis calls the model eagerly at every SmoothGrad sample and activation-maximisation
    step, which on a CPU costs more than the arithmetic for a model of many layers; compiled, the
    attention U-Net's step is about twice as fast. Everything else is the wrapped model's.
    """

    def __init__(self, model: keras.Model):
        import tensorflow as tf

        self._model = model
        self._forward = tf.function(lambda inputs: model(inputs, training=False), reduce_retracing=True)

    def __call__(self, inputs, training=False):
        if training:
            raise ValueError("Compiled runs models in inference mode only")
        return self._forward(inputs)

    def __getattr__(self, name):
        return getattr(self._model, name)


class Explainer:
    """CAMs and saliency maps of one model, built on tf-keras-vis; visualisers are made once, on first use."""

    def __init__(self, model: keras.Model, layer: str = TARGET_LAYER):
        self.model = functional(model)
        self.layer = layer
        target_layer(self.model, layer)
        self._visualisers = {}

    def _visualiser(self, kind: str):
        if kind not in self._visualisers:
            from tf_keras_vis.gradcam import Gradcam
            from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
            from tf_keras_vis.saliency import Saliency
            from tf_keras_vis.scorecam import Scorecam
            from tf_keras_vis.utils.model_modifiers import ReplaceToLinear

            # Scorecam applies a softmax to the model's outputs itself: it needs the logits too.
            cls = {"gradcam": Gradcam, "gradcam++": GradcamPlusPlus, "scorecam": Scorecam, "saliency": Saliency}[kind]
            with quiet():
                visualiser = cls(self.model, model_modifier=ReplaceToLinear(), clone=True)
            if kind == "saliency":  # one model call per SmoothGrad sample: compile it
                visualiser.model = Compiled(visualiser.model)
            self._visualisers[kind] = visualiser
        return self._visualisers[kind]

    def cam(self, x: np.ndarray, classes, method: str = "gradcam", batch_size: int = 64,
            max_n: int | None = None) -> np.ndarray:
        """Class activation maps (N, 48, 48), each scaled to a maximum of 1, for `classes` (one or per image).

        `method` is "gradcam", "gradcam++" or "scorecam"; `max_n` makes ScoreCAM use only the
        `max_n` feature maps of largest variance (Faster Score-CAM).
        """
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
        x = np.asarray(x, dtype=np.float32)
        classes = _as_classes(classes, len(x))
        if len(x) == 0:
            return np.zeros((0,) + x.shape[1:3], np.float32)
        from tf_keras_vis.utils.scores import CategoricalScore

        visualiser = self._visualiser(method)
        options = {"penultimate_layer": self.layer, "seek_penultimate_conv_layer": False, "normalize_cam": False}
        if method == "scorecam":
            options["max_N"] = max_n
        maps = []
        with quiet():
            for start in range(0, len(x), batch_size):
                chunk = x[start:start + batch_size]
                found = visualiser(CategoricalScore(classes[start:start + batch_size]), chunk, **options)
                maps.append(np.asarray(found, np.float32).reshape(len(chunk), *x.shape[1:3]))
        return scale_maps(np.maximum(np.concatenate(maps), 0.0))

    def smoothgrad(self, x: np.ndarray, classes, samples: int = 20, noise: float = 0.2,
                   seed: int = config.SEED) -> np.ndarray:
        """SmoothGrad saliency (N, 48, 48) in [0, 1]: |d logit / d pixel| averaged over noisy copies."""
        x = np.asarray(x, dtype=np.float32)
        classes = _as_classes(classes, len(x))
        if len(x) == 0:
            return np.zeros((0,) + x.shape[1:3], np.float32)
        from tf_keras_vis.utils.scores import CategoricalScore

        np.random.seed(seed)  # tf-keras-vis draws its noise from numpy's global generator
        with quiet():
            maps = self._visualiser("saliency")(CategoricalScore(classes), x, smooth_samples=samples,
                                                smooth_noise=noise, normalize_map=False)
        return scale_maps(np.asarray(maps).reshape(len(x), *x.shape[1:3]))


def activation_maximization(model: keras.Model, classes=None, steps: int = 128, learning_rate: float = 0.05,
                            tv_weight: float = 1.0, jitter: int = 2, seed: int = config.SEED) -> np.ndarray:
    """Inputs (len(classes), 48, 48) in [0, 1] that maximise each class logit (tf-keras-vis).

    Starts from mid-grey plus a little noise; Adam on the pixels, kept in [0, 1] at every step, a
    total-variation penalty against pixel noise and a small random jitter (both as in tf-keras-vis'
    defaults, scaled to 48x48 images in [0, 1]).
    """
    import tensorflow as tf
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.activation_maximization.input_modifiers import Jitter
    from tf_keras_vis.activation_maximization.regularizers import TotalVariation2D
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    classes = list(range(len(config.CLASSES))) if classes is None else [int(c) for c in classes]
    keras.utils.set_random_seed(seed)
    start = np.clip(0.5 + 0.05 * np.random.default_rng(seed).standard_normal((len(classes), SIZE, SIZE, 1)), 0, 1)
    with quiet():
        visualiser = ActivationMaximization(functional(model), model_modifier=ReplaceToLinear(), clone=True)
        visualiser.model = Compiled(visualiser.model)
        images = visualiser(
            CategoricalScore(classes), seed_input=start.astype(np.float32), input_range=(0.0, 1.0),
            input_modifiers=[Jitter(jitter=jitter), lambda v: tf.clip_by_value(v, 0.0, 1.0)],
            regularizers=[TotalVariation2D(weight=tv_weight)], steps=steps,
            optimizer=keras.optimizers.Adam(learning_rate),
        )
    return np.asarray(images, np.float32)[..., 0]


# ---------------------------------------------------------------------------------------------
# Where the mass is: eye band, mouth band, the rest
# ---------------------------------------------------------------------------------------------


def band_masks(size: int = SIZE, bands: dict = BANDS) -> dict[str, np.ndarray]:
    """Boolean (size, size) masks of every band (full-width row ranges) and of "rest" (all other pixels)."""
    masks, taken = {}, np.zeros((size, size), bool)
    for name, (start, stop) in bands.items():
        if not 0 <= start < stop <= size:
            raise ValueError(f"band {name!r} rows {start}..{stop} do not fit a {size}-row image")
        masks[name] = np.zeros((size, size), bool)
        masks[name][start:stop] = True
        if (masks[name] & taken).any():
            raise ValueError(f"band {name!r} overlaps another band")
        taken |= masks[name]
    masks["rest"] = ~taken
    return masks


def area_shares(size: int = SIZE, bands: dict = BANDS) -> dict[str, float]:
    """The shares a uniform map would give: each region's share of the pixels."""
    return {name: float(mask.mean()) for name, mask in band_masks(size, bands).items()}


EYE_SEARCH, MOUTH_SEARCH = (0, 24), (28, 44)  # rows searched for the darkest row (below 44: chin shadow)


def mean_face_check(images: np.ndarray, bands: dict = BANDS) -> dict:
    """The mean face, its row profile (central half of the columns) and its darkest row among rows
    0-23 (the eyes on aligned faces) and among rows 28-43 (the mouth), with whether each lies in its band."""
    mean = np.asarray(images, np.float64).mean(axis=0)
    profile = mean[:, SIZE // 4: 3 * SIZE // 4].mean(axis=1)
    eye_row = EYE_SEARCH[0] + int(np.argmin(profile[slice(*EYE_SEARCH)]))
    mouth_row = MOUTH_SEARCH[0] + int(np.argmin(profile[slice(*MOUTH_SEARCH)]))
    return {"mean_face": mean, "row_profile": profile, "eye_row": eye_row, "mouth_row": mouth_row,
            "eye_row_in_band": bool(bands["eyes"][0] <= eye_row < bands["eyes"][1]),
            "mouth_row_in_band": bool(bands["mouth"][0] <= mouth_row < bands["mouth"][1])}


def band_shares(maps: np.ndarray, bands: dict = BANDS) -> np.ndarray:
    """(N, regions) share of each map's mass in every band and the rest; rows sum to 1, all-zero maps give NaN."""
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3:
        raise ValueError(f"expected maps (N, h, w), got shape {maps.shape}")
    if (maps < 0).any():
        raise ValueError("maps must be non-negative (CAMs after ReLU)")
    masks = band_masks(maps.shape[1], bands)
    mass = np.stack([maps[:, mask].sum(axis=1) for mask in masks.values()], axis=1)
    total = mass.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, mass / np.where(total > 0, total, 1), np.nan)


def share_table(shares: np.ndarray, labels: np.ndarray, regions=None) -> pd.DataFrame:
    """Mean share per region and class (rows: classes, then "all classes" = mean of the class means); n = maps used."""
    regions = list(regions or band_masks().keys())
    frame = pd.DataFrame(np.asarray(shares).reshape(-1, len(regions)), columns=regions)
    frame["class"] = pd.Categorical([config.CLASSES[int(i)] for i in labels], categories=config.CLASSES)
    frame = frame.dropna()
    table = frame.groupby("class", observed=False)[regions].mean()
    table["n"] = frame.groupby("class", observed=False).size()
    table.loc["all classes"] = list(table[regions].mean()) + [int(table["n"].sum())]
    table["n"] = table["n"].astype(int)
    return table


def class_mean_maps(maps: np.ndarray, labels: np.ndarray, n_classes: int = len(config.CLASSES)) -> np.ndarray:
    """(n_classes, h, w) mean map per class (NaN where a class has no map)."""
    out = np.full((n_classes,) + np.asarray(maps).shape[1:], np.nan, np.float32)
    for c in range(n_classes):
        inside = np.asarray(labels) == c
        if inside.any():
            out[c] = np.asarray(maps)[inside].mean(axis=0)
    return out


def pick_per_class(labels: np.ndarray, keep: np.ndarray, n: int, seed: int = config.SEED) -> np.ndarray:
    """Indices of up to `n` images per class among those where `keep` is true, seeded, sorted by class."""
    rng = np.random.default_rng(seed)
    chosen = []
    for c in range(len(config.CLASSES)):
        members = np.flatnonzero((np.asarray(labels) == c) & np.asarray(keep, bool))
        chosen.append(np.sort(rng.choice(members, min(n, len(members)), replace=False)))
    return np.concatenate(chosen).astype(int)


def one_per_class(labels: np.ndarray, preference: list[np.ndarray], seed: int = config.SEED) -> np.ndarray:
    """One image index per class: a seeded pick among the first mask of `preference` that holds any of that class."""
    rng = np.random.default_rng(seed)
    picked = []
    for c in range(len(config.CLASSES)):
        for mask in list(preference) + [np.ones(len(labels), bool)]:
            members = np.flatnonzero((np.asarray(labels) == c) & np.asarray(mask, bool))
            if len(members):
                picked.append(int(rng.choice(members)))
                break
    return np.array(picked, int)


def pick(mask: np.ndarray, n: int, seed: int = config.SEED) -> np.ndarray:
    """Up to `n` indices where `mask` is true, seeded, in increasing order."""
    members = np.flatnonzero(np.asarray(mask, bool))
    return np.sort(np.random.default_rng(seed).choice(members, min(n, len(members)), replace=False))


def paired_difference(shares_a: np.ndarray, shares_b: np.ndarray, region: str = "eyes") -> dict:
    """Mean of share_b - share_a in `region` over the images both maps have (same images, two models),
    with a 95 % bootstrap interval."""
    from .evaluation import bootstrap_ci

    column = REGIONS.index(region)
    diff = np.asarray(shares_b)[:, column] - np.asarray(shares_a)[:, column]
    diff = diff[~np.isnan(diff)]
    if not len(diff):
        return {"region": region, "n": 0, "mean": float("nan"), "ci95": [float("nan")] * 2}
    return {"region": region, "n": int(len(diff)), "mean": float(diff.mean()), "ci95": bootstrap_ci(diff)}


# ---------------------------------------------------------------------------------------------
# Sanity check (Adebayo et al. 2018): do the maps depend on what the model learned?
# ---------------------------------------------------------------------------------------------


def rank_correlations(maps_a: np.ndarray, maps_b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation between paired maps, one per image (NaN where a map is constant)."""
    from scipy.stats import spearmanr

    maps_a, maps_b = np.asarray(maps_a), np.asarray(maps_b)
    if maps_a.shape != maps_b.shape:
        raise ValueError(f"maps differ in shape: {maps_a.shape} vs {maps_b.shape}")
    out = np.full(len(maps_a), np.nan)
    for i, (a, b) in enumerate(zip(maps_a, maps_b)):
        if np.ptp(a) > 0 and np.ptp(b) > 0:
            out[i] = spearmanr(a.ravel(), b.ravel()).statistic
    return out


def randomisation_check(model: keras.Model, x: np.ndarray, classes, method: str = "gradcam",
                        seed: int = config.SEED, trained_maps: np.ndarray | None = None) -> dict:
    """Model-parameter randomisation test: rank correlation of a method's maps for the trained model and
    for the same architecture with re-initialised weights, on the same images and classes.

    A method that explains the model should give maps that change (low correlation); maps that stay
    the same reflect the input or the architecture, not what was learned.
    """
    make = (lambda m: Explainer(m).cam(x, classes, method)) if method in METHODS else \
        (lambda m: Explainer(m).smoothgrad(x, classes, seed=seed))
    trained = make(model) if trained_maps is None else trained_maps
    random = make(randomised(model, seed))
    rho = rank_correlations(trained, random)
    valid = rho[~np.isnan(rho)]
    return {
        "method": method, "n": int(len(rho)), "n_constant": int(np.isnan(rho).sum()),
        "spearman_mean": float(valid.mean()) if len(valid) else float("nan"),
        "spearman_median": float(np.median(valid)) if len(valid) else float("nan"),
        "abs_spearman_mean": float(np.abs(valid).mean()) if len(valid) else float("nan"),
        "per_image": rho, "random_maps": random,
    }


# ---------------------------------------------------------------------------------------------
# Figures and tables
# ---------------------------------------------------------------------------------------------


def plot_bands(check: dict, bands: dict = BANDS):
    """The mean face with the bands drawn on it, and its row profile with the bands shaded."""
    import matplotlib.pyplot as plt

    colours = {"eyes": "tab:blue", "mouth": "tab:orange"}
    fig, (face, rows) = plt.subplots(1, 2, figsize=(7, 3.2), gridspec_kw={"width_ratios": [1, 1.4]})
    face.imshow(check["mean_face"], cmap="gray")
    for name, (start, stop) in bands.items():
        face.axhspan(start - 0.5, stop - 0.5, color=colours.get(name, "tab:green"), alpha=0.25, label=name)
        rows.axvspan(start - 0.5, stop - 0.5, color=colours.get(name, "tab:green"), alpha=0.25, label=name)
    face.set(xticks=[], yticks=[0, 12, 24, 36, 47], ylabel="row", title="mean face")
    rows.plot(np.arange(SIZE), check["row_profile"], color="k")
    rows.set(xlabel="row", ylabel="mean grey level (central columns)", title="row profile")
    rows.legend(fontsize="small")
    fig.tight_layout()
    return fig


def _overlay(ax, face, cam, alpha: float = 0.45, cmap: str = "jet"):
    ax.imshow(face, cmap="gray", interpolation="nearest")
    if cam is not None:
        ax.imshow(cam, cmap=cmap, alpha=alpha, vmin=0, vmax=1, interpolation="bilinear")
    ax.set_xticks([])
    ax.set_yticks([])


def overlay_grid(cells, row_labels=None, col_titles=None, tile: float = 1.3, fontsize: int = 8):
    """A grid of faces with maps over them: `cells[r][c]` is (face, map or None) or None (empty).

    Faces are drawn in grey (each stretched to its own range), maps in "jet" at 45 % opacity, 0..1.
    """
    import matplotlib.pyplot as plt

    if not cells:
        fig, ax = plt.subplots(figsize=(3, 0.6))
        ax.text(0.5, 0.5, "no images to show", ha="center", va="center")
        ax.axis("off")
        return fig
    nrows, ncols = len(cells), max(len(row) for row in cells)
    fig, axes = plt.subplots(nrows, ncols, figsize=(tile * ncols + (1.0 if row_labels else 0), tile * nrows + 0.3),
                             squeeze=False)
    for r, row in enumerate(cells):
        for c in range(ncols):
            ax = axes[r, c]
            cell = row[c] if c < len(row) else None
            if cell is None:
                ax.axis("off")
                continue
            _overlay(ax, *cell)
            if col_titles is not None and r == 0:
                ax.set_title(col_titles[c], fontsize=fontsize)
        if row_labels:
            axes[r, 0].set_ylabel(row_labels[r], rotation=0, ha="right", va="center", fontsize=fontsize + 1)
    fig.tight_layout()
    return fig


def plot_shares(table: pd.DataFrame, bands: dict = BANDS):
    """Bars of the CAM mass share per class and model, one panel per region; dashed: a uniform map's share.

    `table` is long: columns model, class, one per region.
    """
    import matplotlib.pyplot as plt

    regions = list(band_masks(SIZE, bands))
    uniform = area_shares(SIZE, bands)
    models_ = list(dict.fromkeys(table["model"]))
    classes = list(dict.fromkeys(table["class"]))
    fig, axes = plt.subplots(1, len(regions), figsize=(4.2 * len(regions), 3.4), sharey=True)
    width = 0.8 / max(len(models_), 1)
    for ax, region in zip(np.atleast_1d(axes), regions):
        for k, model in enumerate(models_):
            rows = table[table["model"] == model].set_index("class").reindex(classes)
            ax.bar(np.arange(len(classes)) + (k - (len(models_) - 1) / 2) * width, rows[region], width, label=model)
        ax.axhline(uniform[region], color="k", ls="--", lw=1, label="uniform map")
        ax.set_xticks(np.arange(len(classes)), classes, rotation=45, ha="right", fontsize=8)
        ax.set_title(f"{region}" + (f" (rows {bands[region][0]}-{bands[region][1] - 1})" if region in bands else ""))
    np.atleast_1d(axes)[0].set_ylabel("share of CAM mass")
    np.atleast_1d(axes)[-1].legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_maps(faces, columns: dict, row_labels=None, tile: float = 1.3, fontsize: int = 8):
    """One row per face: the face, then one overlay per column ({title: maps}; a map may be None)."""
    cells = [[(face, None)] + [(face, maps[r]) if maps[r] is not None else None for maps in columns.values()]
             for r, face in enumerate(faces)]
    return overlay_grid(cells, row_labels, ["face"] + list(columns), tile=tile, fontsize=fontsize)


AM_COLUMNS = ("probability", "face correlation", "most similar mean face")


def am_summary(model: keras.Model, images: np.ndarray, class_means: np.ndarray) -> pd.DataFrame:
    """Per class (rows, in class order): the probability the model gives that class for its
    activation-maximisation image, the image's pixel correlation with the class's mean face, and
    the class whose mean face the image resembles most."""
    probs = predict(model, np.asarray(images, np.float32)[..., None])
    corr = correlation_with_mean_faces(images, class_means)
    rows = np.arange(len(images))
    return pd.DataFrame(dict(zip(AM_COLUMNS, [probs[rows, rows], corr.diagonal(),
                                              [config.CLASSES[j] for j in corr.argmax(axis=1)]])),
                        index=pd.Index(config.CLASSES[:len(images)], name="class"))


def sanity_table(checks: dict, between: np.ndarray | None = None,
                 between_label: str = "two trained models") -> pd.DataFrame:
    """`randomisation_check` results ({(model, method): check}) as rows, Spearman's rho between each
    trained model's maps and its re-initialised twin's; with `between` (rho per image between two
    trained models' GradCAMs) one more row, for scale."""
    def row(rho, n_constant, n):
        valid = np.asarray(rho)[~np.isnan(rho)]
        return {"mean Spearman": float(valid.mean()) if len(valid) else float("nan"),
                "median": float(np.median(valid)) if len(valid) else float("nan"), "flat maps": n_constant, "images": n}

    rows = {(model, f"{method}: trained vs random weights"): row(c["per_image"], c["n_constant"], c["n"])
            for (model, method), c in checks.items()}
    if between is not None:
        rows[(between_label, "GradCAM: both trained")] = row(between, int(np.isnan(between).sum()), len(between))
    table = pd.DataFrame(rows).T
    table[["flat maps", "images"]] = table[["flat maps", "images"]].astype(int)
    return table.rename_axis(["model", "maps compared"])


def correlation_with_mean_faces(images: np.ndarray, mean_faces: np.ndarray) -> np.ndarray:
    """Pearson correlation (rows: images, columns: mean faces) between pixel values."""
    a = np.asarray(images, np.float64).reshape(len(images), -1)
    b = np.asarray(mean_faces, np.float64).reshape(len(mean_faces), -1)
    a = (a - a.mean(1, keepdims=True)) / (a.std(1, keepdims=True) + 1e-12)
    b = (b - b.mean(1, keepdims=True)) / (b.std(1, keepdims=True) + 1e-12)
    return a @ b.T / a.shape[1]

