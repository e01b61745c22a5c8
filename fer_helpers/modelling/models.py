"""Model builders, all Functional (tf-keras-vis needs it), all built from stock Keras layers.

Every classifier takes float32 images (N, 48, 48, 1) scaled to [0, 1] and returns the 7 class
probabilities in the alphabetical class order; standardisation is a `Normalization` layer inside
it, so a saved model loads with plain ``keras.saving.load_model``. Layer names are meaningful:
every classifier ends its convolutional part with ``last_conv`` -> ``last_bn`` -> ``last_relu``,
and GradCAM weights the feature maps of ``last_relu`` (what the head reads; `config.CAM_LAYER`).
Which builder and options make each of the book's models is in `fer_helpers.runstore.registry`.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from .. import config

INPUT_SHAPE = (config.IMAGE_SIZE, config.IMAGE_SIZE, 1)
N_CLASSES = len(config.CLASSES)


def standardise(x_train: np.ndarray) -> layers.Normalization:
    """A Normalization layer holding the train split's pixel mean and variance."""
    return layers.Normalization(mean=float(x_train.mean()), variance=float(x_train.var()), name="standardise")


def conv_bn_relu(x, filters, name, strides=1, bn_scale=True):
    x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(scale=bn_scale, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


@keras.saving.register_keras_serializable(package="fer_helpers")
class Window(layers.Layer):
    """A `size` x `size` window of the image: a random one in training (a crop, drawn afresh every batch),
    the centre one at inference. Models that look at a window are cheaper per step and can be scored
    on several windows (`inference.predict`'s `shift_tta`)."""

    def __init__(self, size: int, seed: int = config.SEED, **kwargs):
        super().__init__(**kwargs)
        self.size, self.seed = size, seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        side = images.shape[1]
        if training:
            batch = keras.ops.shape(images)[0]
            corner = keras.random.randint((2,), 0, side - self.size + 1, seed=self.generator)
            begin = keras.ops.stack([0, corner[0], corner[1], 0])
            return keras.ops.slice(images, begin, (batch, self.size, self.size, images.shape[3]))
        start = (side - self.size) // 2
        return images[:, start : start + self.size, start : start + self.size, :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "size": self.size, "seed": self.seed}


def margin(model: keras.Model) -> int:
    """How far a model's `Window` may move from the centre (pixels per side); 0 for a model without one."""
    windows = [layer for layer in getattr(model, "layers", ()) if isinstance(layer, Window)]
    return (INPUT_SHAPE[0] - windows[0].size) // 2 if windows else 0


def stem(x_train, window: int = 0):
    """The image input, a `Window` of side `window` (none when 0), and its standardisation with the train
    split's statistics (augmentation is the training recipe's: `training.trainer` puts it in front of the
    model while it trains)."""
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = Window(window, name="window")(inputs) if window else inputs
    return inputs, standardise(x_train)(x)


def baseline_std_model(x_train: np.ndarray, widths=(32, 64, 128), dense=128, dropout=0.5):
    """The study's plain CNN on standardised inputs: (Conv+BN+ReLU+MaxPool) x 3, Dense 128, softmax.

    The dense layer is batch-normalised too: without that, this CNN barely trained in its first
    epochs here (train accuracy ~24 % after three epochs with Adam at 1e-3, measured).
    """
    inputs, x = stem(x_train)
    for i, filters in enumerate(widths, start=1):
        name = "last" if i == len(widths) else f"block{i}"
        x = conv_bn_relu(x, filters, name)
        x = layers.MaxPooling2D(name=f"{name}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense, use_bias=False, name="dense")(x)
    x = layers.BatchNormalization(name="dense_bn")(x)
    x = layers.Activation("relu", name="dense_relu")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(N_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="baseline_std_model")


def vgg_cnn(
    x_train: np.ndarray,
    widths=(32, 64, 128, 256),
    convs=(1, 2, 3, 3),
    dropout=0.3,
    window=0,
    strided_stem=False,
    bn_scale=True,
):
    """VGG-style CNN sized for two CPU cores: stages of 3x3 Conv+BN+ReLU (`convs[i]` at width
    `widths[i]`) with max-pooling between them (48->24->12->6), a global-average-pooled head.
    Cheap capacity goes to the coarse stages: the cost is in the convolutions at 48x48 and 24x24.
    `window` > 0: the model looks at a `Window` of that side (random crops in training). Levers of chapter 8:
    `strided_stem`, the first convolution at stride 2 in place of the first pooling (stage 1 at 24x24, a quarter
    of its cost); `bn_scale=False`, batch norms without a learned scale."""
    inputs, x = stem(x_train, window)
    for stage, (filters, n) in enumerate(zip(widths, convs, strict=False), start=1):
        for c in range(1, n + 1):
            last = stage == len(widths) and c == n
            strides = 2 if strided_stem and stage == 1 and c == 1 else 1
            x = conv_bn_relu(x, filters, "last" if last else f"stage{stage}_{c}", strides, bn_scale)
        if stage < len(widths) and not (strided_stem and stage == 1):
            x = layers.MaxPooling2D(name=f"stage{stage}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(N_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="vgg_cnn")


def attention_gate(skip, gating, filters, name):
    """Additive attention gate (Oktay et al. 2018): weights the skip features by a map in [0, 1]."""
    theta = layers.Conv2D(filters, 1, name=f"{name}_theta")(skip)
    phi = layers.Conv2D(filters, 1, name=f"{name}_phi")(gating)
    phi = layers.UpSampling2D(skip.shape[1] // gating.shape[1], name=f"{name}_phi_up")(phi)
    attention = layers.Activation("relu", name=f"{name}_relu")(layers.Add(name=f"{name}_add")([theta, phi]))
    attention = layers.Conv2D(1, 1, activation="sigmoid", name=f"{name}_map")(attention)
    return layers.Multiply(name=f"{name}_gated")([skip, attention])


def attention_unet(x_train: np.ndarray, widths=(32, 64, 128, 256), convs=(2, 2, 2, 2), dropout=0.3):
    """Attention U-Net classifier: encoder, decoder with attention-gated skips, pooled softmax head.

    The decoder climbs back to the second-finest level (24x24 for 48x48 inputs): the full-resolution
    decoder stage costs the most on a CPU and adds nothing a pooled classifier head can use.
    `convs` gives the number of 3x3 convolutions per level (encoder and decoder alike).
    """
    inputs, x = stem(x_train)
    skips = []
    for level, filters in enumerate(widths[:-1], start=1):
        for c in range(convs[level - 1]):
            x = conv_bn_relu(x, filters, f"enc{level}_{c + 1}")
        skips.append(x)
        x = layers.MaxPooling2D(name=f"enc{level}_pool")(x)
    for c in range(convs[-1]):
        x = conv_bn_relu(x, widths[-1], f"bottleneck_{c + 1}")
    for level in range(len(widths) - 1, 1, -1):
        skip, filters = skips[level - 1], widths[level - 1]
        gated = attention_gate(skip, x, filters // 2, f"att{level}")
        x = layers.UpSampling2D(name=f"dec{level}_up")(x)
        x = layers.Concatenate(name=f"dec{level}_concat")([x, gated])
        for c in range(convs[level - 1]):
            x = conv_bn_relu(x, filters, "last" if level == 2 and c == convs[level - 1] - 1 else f"dec{level}_{c + 1}")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(N_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="attention_unet")


def conv_autoencoder(filters=(32, 64)):
    """Convolutional autoencoder for outlier scores: strided encoder, transposed-conv decoder, sigmoid output."""
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = inputs
    for i, f in enumerate(filters, start=1):
        x = layers.Conv2D(f, 3, strides=2, padding="same", activation="relu", name=f"enc{i}")(x)
    for i, f in enumerate(reversed(filters), start=1):
        x = layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation="relu", name=f"dec{i}")(x)
    outputs = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="conv_autoencoder")


def transformer_block(x, heads: int, mlp: int, dropout: float, name: str):
    """Pre-norm transformer encoder block: self-attention and an MLP, each with a residual."""
    dim = x.shape[-1]
    y = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm1")(x)
    y = layers.MultiHeadAttention(heads, dim // heads, dropout=dropout, name=f"{name}_attention")(y, y)
    x = layers.Add(name=f"{name}_add1")([x, y])
    y = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_norm2")(x)
    y = layers.Dense(mlp, activation="gelu", name=f"{name}_mlp1")(y)
    y = layers.Dropout(dropout, name=f"{name}_mlp_dropout")(y)
    y = layers.Dense(dim, name=f"{name}_mlp2")(y)
    return layers.Add(name=f"{name}_add2")([x, y])


def vision_transformer(x_train: np.ndarray, dim=128, depth=4, heads=4, mlp=256, dropout=0.1, stem_widths=(32, 64)):
    """A small ViT for 48x48 faces, trained from scratch: a convolutional stem (stride-2 3x3
    convolutions, Xiao et al. 2021; one per width, then one to `dim`) makes the token grid (6x6 = 36
    tokens with the default three); positions come from a depthwise
    convolution over the token grid (conditional position encoding, Chu et al. 2023), so the model
    is built from stock Keras layers only; mean-pooled tokens feed the softmax head."""
    inputs, x = stem(x_train)
    for i, width in enumerate(stem_widths, start=1):
        x = conv_bn_relu(x, width, f"stem{i}", strides=2)
    x = conv_bn_relu(x, dim, "last", strides=2)  # the token grid; "last_relu" is GradCAM's layer
    x = layers.Add(name="position_add")([x, layers.DepthwiseConv2D(3, padding="same", name="position")(x)])
    grid = x.shape[1] * x.shape[2]
    x = layers.Reshape((grid, dim), name="tokens")(x)
    for block in range(1, depth + 1):
        x = transformer_block(x, heads, mlp, dropout, f"block{block}")
    x = layers.LayerNormalization(epsilon=1e-6, name="head_norm")(x)
    x = layers.GlobalAveragePooling1D(name="token_mean")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(N_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="vision_transformer")
