"""The autoencoder outlier step and the simple outlier scores, on tiny synthetic data."""

import numpy as np
import pandas as pd

from fer_helpers.cleaning import outliers


def test_outliers_flag_the_top_two_percent_reproducibly(tiny_split, tiny_profile, capsys):
    first = outliers.fit_autoencoder(tiny_split, tiny_profile)
    assert len(first.history["loss"]) == tiny_profile.budget("autoencoder")
    expected = len(tiny_split.train) - int(np.ceil(0.98 * (len(tiny_split.train) - 1) + 1)) + 1
    assert len(first.flagged) == expected
    assert (first.flagged > first.threshold).all()
    for stored in outliers.stored_paths(tiny_profile):
        stored.unlink()  # train again: the same list on the same machine
    again = outliers.fit_autoencoder(tiny_split, tiny_profile)
    assert list(again.flagged.index) == list(first.flagged.index)
    assert len(capsys.readouterr().out.strip().splitlines()) == 2  # one summary line per run


def test_a_stored_run_is_read_back_on_any_machine_and_only_for_its_images_and_settings(
    tiny_split, tiny_profile, capsys
):
    first = outliers.fit_autoencoder(tiny_split, tiny_profile)
    capsys.readouterr()
    read = outliers.fit_autoencoder(tiny_split, tiny_profile)
    assert capsys.readouterr().out == "" and read.trained_on  # read back quietly, naming the machine that trained it
    assert read.errors.equals(first.errors) and read.threshold == first.threshold and read.history == first.history
    assert read.autoencoder.count_params() == first.autoencoder.count_params()
    key = outliers.run_key(tiny_split, tiny_profile)
    assert outliers.load_run(key, tiny_profile) is not None
    assert outliers.run_key(tiny_split, tiny_profile, seed=7) != key
    assert outliers.load_run(outliers.run_key(tiny_split, tiny_profile, seed=7), tiny_profile) is None


def test_study_counts_follow_from_the_percentile_rule():
    errors = np.random.default_rng(0).random(22968)
    assert (errors > np.percentile(errors, outliers.PERCENTILE)).sum() == 460


def test_simple_outlier_scores_find_an_odd_image(tiny_split):
    x = tiny_split.train.x().copy()
    x[0] = 1.0  # a white square is unlike any face
    assert outliers.top_share(outliers.isolation_forest_scores(x), 99)[0]
    assert outliers.class_mean_distance(x, tiny_split.train.labels).argmax() == 0


def test_the_run_knows_its_epochs_best_epoch_and_curves(tiny_split, tiny_profile):
    import matplotlib

    matplotlib.use("Agg")
    from fer_helpers.analysis import plots

    run = outliers.fit_autoencoder(tiny_split, tiny_profile)
    run.history = {"loss": [3.0, 2.0, 1.0], "val_loss": [2.5, 1.5, 1.7]}
    assert run.epochs == 3 and run.best_epoch == 2
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()  # a fresh axis: pyplot's current one may hold another test's lines
    plots.plot_learning_curves({"autoencoder": run}, ax=ax, metric="loss")
    assert ax.get_ylabel() == "loss" and ax.get_lines()[2].get_xydata().tolist() == [[2, 1.5]]


def test_outlier_table_round_trips_by_content_key(tiny_split, tiny_profile):
    run = outliers.fit_autoencoder(tiny_split, tiny_profile)
    table = outliers.outlier_table(run, tiny_split)
    path = outliers.save_outlier_table(table, tiny_profile)
    assert path == tiny_profile.artifacts_dir / "outliers.csv"
    assert outliers.load_outlier_keys(tiny_profile) == list(run.flagged.index)
    counts = outliers.per_class(table, tiny_split)
    assert counts["flagged"].sum() == len(table) and counts["train images"].sum() == len(tiny_split.train)
    assert counts["share flagged"].between(0, 1).all()


def test_what_the_autoencoder_flags_is_compared_with_simple_scores_and_the_audit(tiny_split, tiny_profile):
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    run = outliers.fit_autoencoder(tiny_split, tiny_profile)
    agreement = outliers.score_agreement(run, tiny_split)
    assert list(agreement.index) == ["IsolationForest", "distance to class mean"]
    assert (agreement["also flagged by the autoencoder"] <= agreement["flagged"]).all()
    assert agreement["Jaccard"].between(0, 1).all() and agreement["Spearman with the error"].between(-1, 1).all()
    rho = outliers.error_correlates(run, tiny_split)
    assert len(rho) == 3 and rho.between(-1, 1).all()
    table = outliers.outlier_table(run, tiny_split)
    report = pd.DataFrame(
        {"id": [table["id"].iloc[0], "elsewhere", "in val"], "split": ["train", "train", "val"], "issue": "blank"}
    )
    overlap = outliers.audit_overlap(table, report)
    assert overlap.loc["blank"].tolist() == [2, 1, 0.5]
    assert overlap.loc["exact_duplicate", "train images"] == 0
    fig = outliers.comparison_grid(run, tiny_split, n=2)
    assert len([ax for ax in fig.axes if ax.images]) == 8


def test_laplacian_detail_is_zero_on_flat_and_linear_images():
    ramp = np.tile(np.arange(48, dtype=np.uint8), (48, 1))
    images = np.stack([np.full((48, 48), 90, np.uint8), ramp, np.eye(48, dtype=np.uint8) * 200])
    detail = outliers.laplacian_detail(images)
    assert detail[0] == 0 and detail[1] == 0 and detail[2] > 0


def test_flagged_images_with_equal_errors_are_listed_in_key_order():
    errors = pd.Series([0.5, 0.9, 0.9, 0.1, 0.9], index=["e", "d", "b", "a", "c"])
    run = outliers.OutlierRun(autoencoder=None, errors=errors, threshold=0.2, history={}, wall_seconds=0.0)
    assert list(run.flagged.index) == ["b", "c", "d", "e"]
