"""What a model costs: floating-point operations counted from its layers (machine-independent), and its measured
inference speed on this machine.

    flops.forward(model)                        # FLOPs of one image's forward pass
    flops.training(model, n_train, n_val, 30)   # FLOPs of 30 epochs: training steps and validation passes
    flops.speed(model)                          # images/s at batch 64 and latency at batch 1, measured here

A multiply-add counts as two FLOPs. Counted: convolutions (also separable, depthwise and transposed), dense layers and
multi-head attention (projections and the two token-by-token products); normalisation, activations, pooling
and additions are left out (under 1 % of the total in the book's models). A training step costs three
forward passes (forward, and the gradients of activations and of weights), the usual rule (Kaplan et al. 2020).
"""

from __future__ import annotations

import math
import time

import keras
import numpy as np

TRAINING_PASSES = 3  # a training step costs about three forward passes


def _shape(tensor) -> tuple:
    return tuple(tensor.shape[1:])


def _conv(layer, inputs, outputs) -> int:
    kernel = math.prod(layer.kernel_size)
    if isinstance(layer, keras.layers.SeparableConv2D):  # depthwise, then pointwise to `filters`
        channels = _shape(inputs)[-1] * layer.depth_multiplier
        return 2 * math.prod(_shape(outputs)[:-1]) * channels * (kernel + layer.filters)
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return 2 * math.prod(_shape(outputs)) * kernel
    if isinstance(layer, keras.layers.Conv2DTranspose):
        return 2 * math.prod(_shape(inputs)) * kernel * layer.filters
    channels_in = _shape(inputs)[-1] // layer.groups
    return 2 * math.prod(_shape(outputs)) * kernel * channels_in


def _dense(layer, inputs, outputs) -> int:
    return 2 * math.prod(_shape(inputs)) * layer.units


def _attention(layer, inputs, outputs) -> int:
    query = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
    tokens, dim = _shape(query)[-2:]
    heads, key_dim, value_dim = layer.num_heads, layer.key_dim, layer.value_dim or layer.key_dim
    projections = 2 * tokens * dim * heads * (2 * key_dim + value_dim) + 2 * tokens * heads * value_dim * dim
    products = 2 * heads * tokens * tokens * (key_dim + value_dim)
    return projections + products


COUNTERS = (
    (keras.layers.MultiHeadAttention, _attention),
    (keras.layers.Dense, _dense),
    (
        (
            keras.layers.Conv1D,
            keras.layers.Conv2D,
            keras.layers.SeparableConv2D,
            keras.layers.DepthwiseConv2D,
            keras.layers.Conv2DTranspose,
        ),
        _conv,
    ),
)


def forward(model: keras.Model) -> int:
    """FLOPs of one image's forward pass through `model` (a built Functional model; nested models counted)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += forward(layer)
            continue
        for kind, count in COUNTERS:
            if isinstance(layer, kind):
                total += count(layer, layer.input, layer.output)
                break
    return int(total)


def training(forward_flops: int, n_train: int, n_val: int, epochs: int) -> int:
    """FLOPs of `epochs` epochs: a training step per training image and a forward pass per validation image."""
    return int(epochs * forward_flops * (TRAINING_PASSES * n_train + n_val))


def speed(model, n: int = 1024, repeats: int = 20) -> dict:
    """Measured inference speed: images/s at batch 64 and latency (ms) at batch 1."""
    x = np.random.default_rng(0).random((n, 48, 48, 1), dtype=np.float32)
    model.predict(x[:64], batch_size=64, verbose=0)
    start = time.perf_counter()
    model.predict(x, batch_size=64, verbose=0)
    throughput = n / (time.perf_counter() - start)
    one = x[:1]
    model(one, training=False)
    start = time.perf_counter()
    for _ in range(repeats):
        model(one, training=False)
    latency_ms = 1000 * (time.perf_counter() - start) / repeats
    return {"images_per_second_batch64": round(throughput, 1), "latency_ms_batch1": round(latency_ms, 2)}
