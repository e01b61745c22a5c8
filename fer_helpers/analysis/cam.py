"""What a classifier looks at: class activation maps and saliency (tf-keras-vis), and their sanity check.

    explainer = Explainer(model)                        # any Functional model with the registry's CAM layer
    cams = explainer.cam(x, classes, "gradcam")         # (N, 48, 48) in [0, 1]; also "gradcam++", "scorecam"
    explainer.source_size                               # the layer's grid the maps were upsampled from, e.g. (12, 12)
    check = randomisation_check(model, x, classes)      # Adebayo et al. (2018): trained vs random weights
    checks = randomisation_checks({"baseline": (explainer, cams)}, x, classes)   # GradCAM and SmoothGrad

The maps come from tf-keras-vis (Gradcam, GradcamPlusPlus, Scorecam, Saliency with SmoothGrad,
ActivationMaximization), which need Functional models (`functional` wraps a Sequential one). Every
visualiser replaces the softmax of the "probabilities" layer by the identity (ReplaceToLinear), so
gradients and scores are those of the class logit.

Target layer: `config.CAM_LAYER` ("last_relu"; a model of the registry may name another in
`registry.entry(name).layer`), the features the head reads (after BatchNorm and ReLU). tf-keras-vis, given a
non-conv layer, walks back to the nearest Conv2D unless `seek_penultimate_conv_layer=False`, which this module
passes. For a GAP -> Dense head, Grad-CAM there equals the class activation map of Zhou et al. (2016).

Resolution: CAMs are computed on the layer's grid (12x12 for the baseline, 24x24 for the U-Net) and
upsampled the same way (`upsample`: bilinear, pixel centres aligned) to 48x48, or to the centre window a
model looks at (`models.Window`, zero outside it), so maps of different models share one resolution.
"""

from __future__ import annotations

import cv2
import keras
import numpy as np
import pandas as pd

from .. import config
from ..modelling import inference, models
from ..quiet import quiet
from .regions import rank_correlations

METHODS = ("gradcam", "gradcam++", "scorecam")
SIZE = config.IMAGE_SIZE
RANDOMISATION_IMAGES = 100  # images in the randomisation check (a seeded subset when more are given)


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
                "with the Functional API, as fer_helpers.modelling.models does."
            )
        return keras.Model(inputs, model.outputs, name=model.name)
    if not isinstance(model, keras.Model) or not hasattr(model, "output_names"):
        raise ValueError(f"expected a Functional Keras model, got {type(model).__name__}")
    return model


def target_layer(model: keras.Model, layer: str = config.CAM_LAYER) -> keras.layers.Layer:
    """The layer whose feature maps the CAMs weight; it must give (N, h, w, channels)."""
    try:
        found = model.get_layer(layer)
    except ValueError as error:
        raise ValueError(f"model {model.name!r} has no layer {layer!r} to explain (GradCAM's target layer)") from error
    if len(found.output.shape) != 4:
        raise ValueError(f"layer {layer!r} of {model.name!r} gives {found.output.shape}, not feature maps (N, h, w, c)")
    return found


def randomised(model: keras.Model, seed: int = config.SEED) -> keras.Model:
    """The same architecture with freshly initialised weights (all layers at once: the cascade's end)."""
    keras.utils.set_random_seed(seed)
    return keras.models.clone_model(functional(model))


def _as_classes(classes, n: int) -> list[int]:
    return [int(c) for c in np.broadcast_to(np.asarray(classes, dtype=int), (n,))]


def scale_maps(maps) -> np.ndarray:
    """Each map divided by its maximum (so in [0, 1] for non-negative maps); an all-zero map stays zero."""
    maps = np.asarray(maps, dtype=np.float32)
    top = maps.reshape(len(maps), -1).max(axis=1) if len(maps) else np.zeros(0, np.float32)
    return maps / np.where(top > 0, top, 1.0).astype(np.float32)[:, None, None]


def upsample(maps, size: int = SIZE) -> np.ndarray:
    """(N, h, w) maps resized to (N, size, size): bilinear, pixel centres aligned (OpenCV's INTER_LINEAR)."""
    maps = np.asarray(maps, np.float32)
    if maps.shape[1:] == (size, size):
        return maps
    return (
        np.stack([cv2.resize(m, (size, size), interpolation=cv2.INTER_LINEAR) for m in maps])
        if len(maps)
        else np.zeros((0, size, size), np.float32)
    )


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

    def __init__(self, model: keras.Model, layer: str = config.CAM_LAYER):
        self.model = functional(model)
        self.layer = layer
        self.source_size = tuple(int(v) for v in target_layer(self.model, layer).output.shape[1:3])
        self._visualisers = {}

    def _visualiser(self, kind: str):
        if kind not in self._visualisers:
            with quiet():  # tf-keras-vis' imports warn about deprecated scipy names
                from tf_keras_vis.gradcam import Gradcam
                from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
                from tf_keras_vis.saliency import Saliency
                from tf_keras_vis.scorecam import Scorecam
                from tf_keras_vis.utils.model_modifiers import ReplaceToLinear

                # Scorecam applies a softmax to the model's outputs itself: it needs the logits too.
                cls = {"gradcam": Gradcam, "gradcam++": GradcamPlusPlus, "scorecam": Scorecam, "saliency": Saliency}[
                    kind
                ]
                visualiser = cls(self.model, model_modifier=ReplaceToLinear(), clone=True)
            if kind == "saliency":  # one model call per SmoothGrad sample: compile it
                visualiser.model = Compiled(visualiser.model)
            self._visualisers[kind] = visualiser
        return self._visualisers[kind]

    def cam(
        self, x: np.ndarray, classes, method: str = "gradcam", batch_size: int = 64, max_n: int | None = None
    ) -> np.ndarray:
        """Class activation maps (N, 48, 48) for `classes` (one or per image), computed on the layer's
        grid (`source_size`), upsampled, each scaled to a maximum of 1 (an all-zero map stays zero).

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
        options = {
            "penultimate_layer": self.layer,
            "seek_penultimate_conv_layer": False,
            "normalize_cam": False,
            "expand_cam": False,
        }
        if method == "scorecam":
            options["max_N"] = max_n
        maps = []
        with quiet():
            for start in range(0, len(x), batch_size):
                chunk = x[start : start + batch_size]
                found = visualiser(CategoricalScore(classes[start : start + batch_size]), chunk, **options)
                maps.append(np.asarray(found, np.float32).reshape(len(chunk), *self.source_size))
        edge = models.margin(self.model)
        maps = upsample(np.maximum(np.concatenate(maps), 0.0), x.shape[1] - 2 * edge)
        return scale_maps(np.pad(maps, ((0, 0), (edge, edge), (edge, edge))))

    def smoothgrad(
        self, x: np.ndarray, classes, samples: int = 20, noise: float = 0.2, seed: int = config.SEED
    ) -> np.ndarray:
        """SmoothGrad saliency (N, 48, 48) in [0, 1]: |d logit / d pixel| averaged over noisy copies."""
        x = np.asarray(x, dtype=np.float32)
        classes = _as_classes(classes, len(x))
        if len(x) == 0:
            return np.zeros((0,) + x.shape[1:3], np.float32)
        from tf_keras_vis.utils.scores import CategoricalScore

        np.random.seed(seed)  # tf-keras-vis draws its noise from numpy's global generator
        with quiet():
            maps = self._visualiser("saliency")(
                CategoricalScore(classes), x, smooth_samples=samples, smooth_noise=noise, normalize_map=False
            )
        return scale_maps(np.asarray(maps).reshape(len(x), *x.shape[1:3]))


def activation_maximization(
    model: keras.Model,
    classes=None,
    steps: int = 128,
    learning_rate: float = 0.05,
    tv_weight: float = 1.0,
    jitter: int = 2,
    seed: int = config.SEED,
) -> np.ndarray:
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
            CategoricalScore(classes),
            seed_input=start.astype(np.float32),
            input_range=(0.0, 1.0),
            input_modifiers=[Jitter(jitter=jitter), lambda v: tf.clip_by_value(v, 0.0, 1.0)],
            regularizers=[TotalVariation2D(weight=tv_weight)],
            steps=steps,
            optimizer=keras.optimizers.Adam(learning_rate),
        )
    return np.asarray(images, np.float32)[..., 0]


def correlation_with_mean_faces(images: np.ndarray, mean_faces: np.ndarray) -> np.ndarray:
    """Pearson correlation (rows: images, columns: mean faces) between pixel values."""
    a, b = (np.asarray(v, np.float64).reshape(len(v), -1) for v in (images, mean_faces))
    return np.corrcoef(a, b)[: len(a), len(a) :]


AM_COLUMNS = ("probability", "face correlation", "most similar mean face")


def am_summary(model: keras.Model, images: np.ndarray, mean_faces: dict) -> pd.DataFrame:
    """Per class (rows, in class order): the probability the model gives that class for its
    activation-maximisation image, the image's pixel correlation with the class's mean face, and
    the class whose mean face ({class name: face}, e.g. `regions.class_mean_maps` of the train
    images) it resembles most."""
    wanted = config.CLASSES[: len(images)]
    missing = [name for name in wanted if name not in mean_faces]
    if missing:
        raise ValueError(f"no mean face of {', '.join(missing)} to compare the activation-maximisation images with")
    names = list(mean_faces)
    probs = inference.predict(model, np.asarray(images, np.float32)[..., None])
    corr = correlation_with_mean_faces(images, np.stack([mean_faces[name] for name in names]))
    rows = np.arange(len(images))
    own = [names.index(name) for name in wanted]
    return pd.DataFrame(
        dict(
            zip(AM_COLUMNS, [probs[rows, rows], corr[rows, own], [names[j] for j in corr.argmax(axis=1)]], strict=True)
        ),
        index=pd.Index(wanted, name="class"),
    )


def randomisation_check(
    model: keras.Model,
    x: np.ndarray,
    classes,
    method: str = "gradcam",
    n_images: int = RANDOMISATION_IMAGES,
    seed: int = config.SEED,
    trained_maps: np.ndarray | None = None,
    layer: str = config.CAM_LAYER,
) -> dict:
    """Model-parameter randomisation test: rank correlation of a method's maps for the trained model and
    for the same architecture with re-initialised weights, on the same images and classes.

    Runs on a seeded subset of `n_images` of `x` (all when fewer; `indices` says which). A method
    that explains the model gives maps that change (low correlation); maps that stay the same
    reflect the input or the architecture, not what was learned. `method` is one of METHODS or "smoothgrad".
    """
    x = np.asarray(x, np.float32)
    classes = np.asarray(_as_classes(classes, len(x)))
    indices = (
        np.arange(len(x))
        if len(x) <= n_images
        else np.sort(np.random.default_rng(seed).choice(len(x), n_images, replace=False))
    )

    def maps_of(m):
        explainer = Explainer(m, layer)
        if method == "smoothgrad":
            return explainer.smoothgrad(x[indices], classes[indices], seed=seed)
        return explainer.cam(x[indices], classes[indices], method)

    trained = maps_of(model) if trained_maps is None else np.asarray(trained_maps)[indices]
    random = maps_of(randomised(model, seed))
    rho = rank_correlations(trained, random)
    valid = rho[~np.isnan(rho)]
    return {
        "method": method,
        "n": len(rho),
        "n_constant": int(np.isnan(rho).sum()),
        "indices": indices,
        "spearman_mean": float(valid.mean()) if len(valid) else None,
        "spearman_median": float(np.median(valid)) if len(valid) else None,
        "abs_spearman_mean": float(np.abs(valid).mean()) if len(valid) else None,
        "per_image": rho,
        "random_maps": random,
    }


SANITY_METHODS = {"gradcam": "GradCAM", "smoothgrad": "SmoothGrad"}  # method -> its name in the tables


def randomisation_checks(models: dict, x: np.ndarray, classes) -> dict:
    """:func:`randomisation_check` of GradCAM and SmoothGrad on all of `x` for every model of `models`
    ({name: (its Explainer, its trained GradCAMs of `x`)}, the maps reused, not recomputed):
    {(name, "GradCAM" or "SmoothGrad"): check}."""
    return {
        (name, title): randomisation_check(
            explainer.model,
            x,
            classes,
            method,
            n_images=len(x),
            trained_maps=trained if method == "gradcam" else None,
            layer=explainer.layer,
        )
        for name, (explainer, trained) in models.items()
        for method, title in SANITY_METHODS.items()
    }
