"""flops: forward FLOPs counted from the layers, checked against counts made by hand."""

import keras
import numpy as np
import pytest

from fer_helpers.modelling import flops, models


def test_convolutions_and_a_dense_head_by_hand():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)  # 8*8 positions * 4 filters * 3*3*1
    x = keras.layers.Conv2D(2, 1)(x)  # 8*8 * 2 * 1*1*4
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)  # 8*8*2 * 3*3
    x = keras.layers.Conv2DTranspose(1, 2, strides=2)(x)  # 8*8*2 inputs * 2*2 * 1 filter
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3)(x)  # 1 * 3
    model = keras.Model(inputs, outputs)
    assert flops.forward(model) == 2 * (8 * 8 * 4 * 9 + 8 * 8 * 2 * 4 + 8 * 8 * 2 * 9 + 8 * 8 * 2 * 4 + 1 * 3)


def test_a_separable_convolution_is_its_depthwise_and_pointwise_parts_by_hand():
    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.SeparableConv2D(5, 3, padding="same", depth_multiplier=2)(inputs)
    # 8*8 positions * 3 channels * 2 (depth multiplier) * (3*3 depthwise + 5 pointwise filters)
    assert flops.forward(keras.Model(inputs, outputs)) == 2 * 8 * 8 * 3 * 2 * (9 + 5)


def test_multi_head_attention_by_hand():
    tokens = keras.Input((4, 8))  # 4 tokens of 8 dimensions
    outputs = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)(tokens, tokens)
    model = keras.Model(tokens, outputs)
    projections = 3 * (4 * 8 * 2 * 4) + 4 * 2 * 4 * 8  # query, key, value in; heads back to 8 dimensions
    products = 2 * 4 * 4 * (4 + 4)  # per head: scores (4x4 over 4 dims) and the weighted sum of values
    assert flops.forward(model) == 2 * (projections + products)


def test_the_study_baseline_by_hand():
    model = models.baseline_std_model(np.zeros((2, 48, 48, 1), "float32"))
    convolutions = 48 * 48 * 32 * 9 * 1 + 24 * 24 * 64 * 9 * 32 + 12 * 12 * 128 * 9 * 64
    dense = 6 * 6 * 128 * 128 + 128 * 7
    assert flops.forward(model) == 2 * (convolutions + dense)


def test_a_nested_model_counts_its_inner_layers():
    inner = keras.Sequential([keras.Input((10,)), keras.layers.Dense(5)])
    inputs = keras.Input((10,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inner(inputs)))
    assert flops.forward(model) == 2 * (10 * 5 + 5 * 2)


def test_training_costs_three_passes_per_training_image_and_one_per_validation_image():
    assert flops.training(100, n_train=10, n_val=4, epochs=2) == 2 * 100 * (3 * 10 + 4)
    with pytest.raises(TypeError):
        flops.training(100, 10)
