"""Model builders, the training function and the outlier step, on tiny synthetic data."""
import keras
import numpy as np
import pytest

import fer_helpers  # noqa: F401  (a saved model must load after importing the package alone)
from fer_helpers import config, data, experiments, models, outliers, synthetic, training


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    dataset = synthetic.make_dataset(train_per_class=20, test_per_class=4)
    manifest = data.make_manifest(dataset)

    def subset(name):
        rows = np.flatnonzero(manifest["split"].to_numpy() == name)
        return data.Subset(dataset.images[rows], dataset.labels[rows], dataset.ids[rows], dataset.parts[rows])

    return data.Split(subset("train"), subset("val"), subset("test"), "synthetic", "smoke")


@pytest.fixture
def profile(tmp_path):
    return config.Profile("smoke", None, {}, tmp_path)


X = np.random.default_rng(0).random((8, 48, 48, 1), dtype=np.float32)


@pytest.mark.parametrize("build", [models.baseline_std_model,
                                   lambda x: models.attention_unet(x, widths=(4, 8, 16, 32), convs=(1, 1, 1, 1)),
                                   lambda x: models.vgg_cnn(x, widths=(4, 8, 8, 16), convs=(1, 1, 2, 1))])
def test_classifiers_are_functional_with_named_layers(build):
    model = build(X)
    assert not isinstance(model, keras.Sequential)
    assert model.output_shape == (None, len(config.CLASSES))
    assert {"last_conv", "probabilities", "standardise"} <= {layer.name for layer in model.layers}
    np.testing.assert_allclose(model.predict(X, verbose=0).sum(axis=1), 1, rtol=1e-5)


def test_standardisation_uses_train_statistics():
    layer = models.standardise(X)
    out = keras.ops.convert_to_numpy(layer(X))
    assert abs(out.mean()) < 1e-4 and abs(out.std() - 1) < 1e-3


def test_attention_gate_output_is_skip_times_map_in_unit_interval():
    skip, gating = keras.Input((8, 8, 4)), keras.Input((4, 4, 8))
    gated = models.attention_gate(skip, gating, 2, "gate")
    attention_map = keras.Model([skip, gating], [gated, gated._keras_history.operation.input[1]])
    s, g = np.ones((1, 8, 8, 4), "float32"), np.random.default_rng(1).random((1, 4, 4, 8), dtype=np.float32)
    out, weights = attention_map.predict([s, g], verbose=0)
    assert weights.min() >= 0 and weights.max() <= 1
    np.testing.assert_allclose(out, s * weights, rtol=1e-6)


def test_augmentation_changes_training_views_only():
    views = models.augmented_views(X[:2], views=2)
    assert views[0].shape == X[:2].shape and not np.allclose(views[0], X[:2])
    model = models.baseline_std_model(X, augment=True)
    np.testing.assert_allclose(model.predict(X, verbose=0), model.predict(X, verbose=0))


def test_train_learns_saves_and_reloads(split, profile):
    fitted = training.train(models.baseline_std_model(split.train.x(), widths=(8, 16, 16), dense=16), split,
                            "tiny", profile, epochs=3)
    assert fitted.epochs == 3 and 1 <= fitted.best_epoch <= 3
    assert (profile.results_dir / "history" / "tiny.csv").exists()
    saved = profile.models_dir / "tiny.keras"
    assert saved.exists() and saved.stat().st_size < 10 * 2**20
    loaded = keras.saving.load_model(saved)
    x = split.test.x()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), fitted.model.predict(x, verbose=0), atol=1e-5)
    assert not (profile.models_dir / ".backup" / "tiny").exists() or not any((profile.models_dir / ".backup" / "tiny").iterdir())


def test_training_is_seeded(split, profile):
    def once():
        build = lambda x: models.baseline_std_model(x, widths=(4, 8, 8), dense=8)  # noqa: E731
        fitted, _ = experiments.run(build, split, "seeded", profile, 1, seed=7)
        return fitted.model.predict(split.test.x(), verbose=0)

    np.testing.assert_allclose(once(), once(), atol=1e-6)


def test_outliers_flag_the_top_two_percent_reproducibly(split):
    first = outliers.fit_autoencoder(split, epochs=1)
    expected = len(split.train) - int(np.ceil(0.98 * (len(split.train) - 1) + 1)) + 1
    assert len(first.flagged) == expected
    assert (first.flagged > first.threshold).all()
    again = outliers.fit_autoencoder(split, epochs=1)
    assert list(again.flagged.index) == list(first.flagged.index)


def test_study_counts_follow_from_the_percentile_rule():
    errors = np.random.default_rng(0).random(22968)
    assert (errors > np.percentile(errors, outliers.PERCENTILE)).sum() == 460


def test_simple_outlier_scores_find_an_odd_image(split):
    x = split.train.x().copy()
    x[0] = 1.0  # a white square is unlike any face
    assert outliers.top_share(outliers.isolation_forest_scores(x), 99)[0]
    assert outliers.class_mean_distance(x, split.train.labels).argmax() == 0


def test_time_budget_stops_training_early(split, profile):
    build = lambda x: models.baseline_std_model(x, widths=(4, 8, 8), dense=8)  # noqa: E731
    fitted, _ = experiments.run(build, split, "budget", profile, 50, time_budget=1e-3)
    assert fitted.epochs == 1


def test_vision_transformer_is_functional_and_small():
    model = models.vision_transformer(X, dim=16, depth=1, heads=2, mlp=16)
    assert model.output_shape == (None, len(config.CLASSES)) and "last_conv" in {l.name for l in model.layers}
    np.testing.assert_allclose(model.predict(X, verbose=0).sum(axis=1), 1, rtol=1e-5)


@pytest.mark.parametrize("probability, low, high", [(1.0, 1.0, 1.0), (0.25, 0.15, 0.35), (0.0, 0.0, 0.0)])
def test_random_erasing_hits_the_stated_share_of_training_images(probability, low, high):
    inputs, x = models.stem(X, augment=True, erase=probability)
    pipeline = keras.Model(inputs, x)
    blank = np.full((400, 48, 48, 1), 0.5, np.float32)  # affine transforms leave a flat image flat
    out = keras.ops.convert_to_numpy(pipeline(blank, training=True))
    erased = out.reshape(len(out), -1).std(axis=1) > 1e-6
    assert low <= erased.mean() <= high
    assert np.ptp(keras.ops.convert_to_numpy(pipeline(blank, training=False))) == 0


def test_cosine_schedule_warms_up_then_decays_to_zero():
    schedule = training.cosine_schedule(0.05, steps_per_epoch=10, epochs=5, warmup_epochs=2)
    rate = lambda step: float(schedule(step))  # noqa: E731
    assert rate(0) == 0 and rate(10) == pytest.approx(0.025) and rate(20) == pytest.approx(0.05)
    assert rate(35) < rate(25) < 0.05 and rate(50) == pytest.approx(0, abs=1e-7)
    assert float(training.cosine_schedule(0.05, 10, 1, warmup_epochs=2)(0)) == pytest.approx(0.05)


def test_sgd_recipe_trains(split, profile):
    build = lambda x: models.vgg_cnn(x, widths=(4, 8, 8, 16), convs=(1, 1, 1, 1))  # noqa: E731
    fitted, result = experiments.run(build, split, "sgd", profile, 2, sgd=True, cosine=True, warmup_epochs=1,
                                     learning_rate=0.05, weight_decay=5e-4, label_smoothing=0.1)
    optimizer = fitted.model.optimizer
    assert isinstance(optimizer, keras.optimizers.SGD) and optimizer.nesterov and optimizer.momentum == 0.9
    assert fitted.epochs == 2 and 0 <= result["accuracy"] <= 1
