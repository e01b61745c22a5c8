"""Optimizers and learning-rate schedules: warm-up, cosine and linear decay to zero, the plateau rule."""

import dataclasses

import keras
import pytest

from fer_helpers import config
from fer_helpers.modelling import optimizers


def test_cosine_schedule_warms_up_then_decays_to_zero():
    schedule = optimizers.cosine_schedule(0.05, steps_per_epoch=10, epochs=5, warmup_epochs=2)
    rate = lambda step: float(schedule(step))  # noqa: E731
    assert rate(0) == 0 and rate(10) == pytest.approx(0.025) and rate(20) == pytest.approx(0.05)
    assert rate(35) < rate(25) < 0.05 and rate(50) == pytest.approx(0, abs=1e-7)
    assert float(optimizers.cosine_schedule(0.05, 10, 1, warmup_epochs=2)(0)) == pytest.approx(0.05)


def test_plateau_rate_halves_after_three_epochs_without_improvement():
    assert optimizers.plateau_rate([1.0, 0.9, 0.8], 1e-3) == 1e-3
    assert optimizers.plateau_rate([1.0, 0.9, 0.95, 0.9, 0.91], 1e-3) == pytest.approx(5e-4)
    assert optimizers.plateau_rate([1.0] + [2.0] * 6, 1e-3) == pytest.approx(2.5e-4)
    assert optimizers.plateau_rate([1.0] + [2.0] * 60, 1e-3) == optimizers.PLATEAU_FLOOR


def test_optimizer_follows_the_recipe():
    sgd = optimizers.optimizer(config.PROTOCOL, steps_per_epoch=10, epochs=5)
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.nesterov and sgd.momentum == 0.9
    assert sgd.weight_decay == pytest.approx(5e-4)
    assert type(optimizers.optimizer(config.STUDY_BASELINE, 10, 5)) is keras.optimizers.Adam
    assert isinstance(
        optimizers.optimizer(dataclasses.replace(config.STUDY_BASELINE, weight_decay=1e-4), 10, 5),
        keras.optimizers.AdamW,
    )


def test_linear_schedule_warms_up_then_falls_in_a_straight_line_to_zero():
    schedule = optimizers.linear_schedule(0.05, steps_per_epoch=10, epochs=5, warmup_epochs=1)
    rate = lambda step: float(schedule(step))  # noqa: E731
    assert rate(0) == 0 and rate(5) == pytest.approx(0.025) and rate(10) == pytest.approx(0.05)
    assert rate(30) == pytest.approx(0.05 * 20 / 40) and rate(50) == pytest.approx(0, abs=1e-9)
    assert rate(20) - rate(30) == pytest.approx(rate(30) - rate(40))  # a straight line
    assert float(optimizers.linear_schedule(0.05, 10, 1, warmup_epochs=2)(0)) == pytest.approx(0.05)
    sgd = optimizers.optimizer(dataclasses.replace(config.PROTOCOL, schedule="linear"), 10, 5)
    assert type(sgd._learning_rate) is optimizers.LinearToZero
