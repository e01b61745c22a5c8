"""What a training run leaves on disk: the backup it resumes from, its history, the saved model."""

import keras
import numpy as np
import pandas as pd
import pytest
from helpers import weights_equal

from fer_helpers.modelling import checkpoints

HISTORY = {"loss": [1.2, 1.0, 0.9], "val_accuracy": [0.3, 0.5, 0.4]}


def small_model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    model.compile("sgd", "categorical_crossentropy")
    return model


def test_a_backup_keeps_the_last_and_the_best_epoch_and_restores_the_last(tmp_path):
    backup = checkpoints.Backup(tmp_path / "run", {"seed": 42})
    saved = {}
    for epoch in (1, 2, 3):
        saved[epoch] = small_model(seed=epoch)
        backup.save(saved[epoch], epoch, 2, {k: v[:epoch] for k, v in HISTORY.items()}, [10.0] * epoch)
    assert sorted(p.name for p in (tmp_path / "run").glob("*.h5")) == ["epoch-002.weights.h5", "epoch-003.weights.h5"]
    restored = small_model(seed=9)
    history, seconds = checkpoints.Backup(tmp_path / "run", {"seed": 42}).restore(restored)
    assert history == HISTORY and seconds == [10.0] * 3 and weights_equal(restored, saved[3])
    backup.load_epoch(restored, 2)
    assert weights_equal(restored, saved[2])


def test_a_backup_is_copied_after_every_epoch_and_restored_from_the_copy_with_the_most_epochs(tmp_path):
    copies = (tmp_path / "parked", tmp_path / "mirror")
    backup = checkpoints.Backup(tmp_path / "run", {"seed": 42}, copies)
    saved = small_model(seed=1)
    backup.save(saved, 1, 1, {k: v[:1] for k, v in HISTORY.items()}, [10.0], [{"cpu": "here", "first_epoch": 1}])
    assert checkpoints.saved_epochs([tmp_path / "run", *copies]) == 1 == checkpoints.saved_epochs(copies[:1])
    (tmp_path / "run" / "progress.json").unlink()  # another machine: only a copy is left
    restored = small_model(seed=9)
    again = checkpoints.Backup(tmp_path / "run", {"seed": 42}, copies)
    assert again.restore(restored)[1] == [10.0] and weights_equal(restored, saved)
    assert again.sessions == [{"cpu": "here", "first_epoch": 1}]
    again.remove()
    assert checkpoints.saved_epochs([tmp_path / "run", *copies]) == 0 and not any(c.exists() for c in copies)


def test_a_backup_of_other_settings_is_removed_not_restored(tmp_path, capsys):
    checkpoints.Backup(tmp_path / "run", {"seed": 42}).save(small_model(), 1, 1, HISTORY, [1.0])
    assert checkpoints.Backup(tmp_path / "run", {"seed": 43}).restore(small_model()) == ({}, [])
    assert "other settings" in capsys.readouterr().err and not (tmp_path / "run").exists()


def test_no_backup_restores_nothing_and_a_missing_epoch_names_its_file(tmp_path):
    backup = checkpoints.Backup(tmp_path / "run", {"seed": 42})
    assert backup.restore(small_model()) == ({}, [])
    with pytest.raises(FileNotFoundError, match="epoch-005.weights.h5: backup of epoch 5 missing"):
        backup.load_epoch(small_model(), 5)


def test_history_is_a_csv_with_one_row_per_epoch(tmp_path):
    path = tmp_path / "history" / "run.csv"
    checkpoints.write_history(HISTORY, path)
    table = pd.read_csv(path)
    assert list(table.columns) == ["epoch", "loss", "val_accuracy"] and table["epoch"].tolist() == [1, 2, 3]


def test_a_saved_model_predicts_as_before_without_optimizer_state(tmp_path):
    model = small_model()
    model.fit(np.ones((8, 4)), np.eye(3)[np.arange(8) % 3], epochs=1, verbose=0)
    path = tmp_path / "models" / "m.keras"
    checkpoints.save_model(model, path)
    loaded = keras.saving.load_model(path)
    x = np.random.default_rng(0).random((5, 4))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert getattr(loaded, "optimizer", None) is None  # never compiled: no optimizer state was stored
