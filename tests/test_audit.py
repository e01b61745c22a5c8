"""The data audit on constructed cases: exact and near duplicates, leakage, blank images, watermarks."""

import cv2
import numpy as np
import pandas as pd
import pytest
from helpers import make_split, smooth_images

from fer_helpers import config
from fer_helpers.dataset import audit, synthetic


@pytest.fixture(scope="module")
def base():
    return smooth_images(40)


def test_distinct_images_give_a_clean_audit(base):
    result = audit.run(make_split(base[:20], base[20:30], base[30:]))
    assert result.report.empty
    assert result.pair_counts().to_numpy().sum() == 0
    leak = result.leakage()
    assert leak["in_training"] == 0 and leak["test_images"] == 10


def test_exact_duplicates_and_leakage_with_label_agreement(base):
    train = base[:20]
    test = base[30:].copy()
    test[0] = train[3]  # train labels are index % 7, so train[3] is labelled 3
    test[1] = train[4]
    test_labels = np.arange(10) % 7
    test_labels[0] = 3  # agrees with train[3]
    test_labels[1] = 0  # train[4] is labelled 4: disagrees
    val = base[20:30].copy()
    val[5] = train[3]  # a third copy of the same image, in val, also labelled 3
    val_labels = np.arange(10) % 7
    val_labels[5] = 3
    result = audit.run(make_split(train, val, test, val_labels=val_labels, test_labels=test_labels))
    exact = result.report[result.report["issue"] == "exact_duplicate"]
    # the test copy is kept; the training and validation copies are listed against it
    assert set(exact["id"]) == {"Training_3", "Training_4", "TrainingVal_5"}
    assert set(exact["related_id"]) == {"PrivateTest_0", "PrivateTest_1"}
    assert (exact["split"] != "test").all()
    counts = result.pair_counts()
    assert counts.loc["train-test", "exact pairs"] == 2
    assert counts.loc["train-test", "exact, labels differ"] == 1
    assert counts.loc["train-val", "exact pairs"] == 1 and counts.loc["val-test", "exact pairs"] == 1
    leak = result.leakage()
    assert leak["in_training"] == 2 and leak["in_train"] == 2 and leak["in_val"] == 1
    assert leak["label_agrees"] == 1 and leak["labels_differ"] == 1
    assert leak["by_part"] == {"PublicTest": 0, "PrivateTest": 2}
    assert audit.ids_to_drop(result.report) == {"Training_3", "Training_4", "TrainingVal_5"}


def test_near_duplicates_are_found_but_not_confused_with_exact(base):
    train = base[:20]
    test = base[30:].copy()
    test[2] = np.clip(train[7].astype(int) + 6, 0, 255).astype(np.uint8)  # brighter copy
    noise = np.random.default_rng(1).normal(0, 3, (48, 48))
    test[3] = np.clip(train[8] + noise, 0, 255).astype(np.uint8)  # re-encoded / noisy copy
    result = audit.run(make_split(train, base[20:30], test))
    near = result.report[result.report["issue"] == "near_duplicate"]
    copies = {("Training_7", "PrivateTest_2"), ("Training_8", "PrivateTest_3")}
    assert set(zip(near["id"], near["related_id"], strict=False)) == copies
    assert (result.report["issue"] != "exact_duplicate").all()
    assert result.leakage("exact")["in_training"] == 0
    assert result.leakage("near")["in_training"] == 2
    looser = result.pairs_within(3 * audit.NEAR_MAX_BITS)
    assert copies <= set(zip(looser["id_a"], looser["id_b"], strict=False))
    left, right, captions = result.pair_images(result.pairs("near"))
    assert left.shape == right.shape == (2, 48, 48) and captions[0].startswith("train/")


def test_blank_images_are_flagged_and_not_counted_as_duplicates(base):
    train = base[:20].copy()
    train[0] = 0  # black
    train[1] = 0  # an identical black image
    test = base[30:].copy()
    test[0] = 128 + np.random.default_rng(2).integers(-2, 3, (48, 48))  # nearly constant grey
    result = audit.run(make_split(train, base[20:30], test))
    blank = result.report[result.report["issue"] == "blank"]
    assert set(blank["id"]) == {"Training_0", "Training_1", "PrivateTest_0"}
    assert "exact_duplicate" not in set(result.report["issue"])


def test_near_duplicates_are_pairs_that_do_not_chain(base):
    """A morph from one image to another: each step is a near duplicate of the next, the ends are not. Every
    listed near duplicate names a partner within the threshold, and dropping the listed ones leaves no pair."""
    train = base[:20].copy()
    train[8:20] = [((1 - t) * base[5] + t * base[6]).astype(np.uint8) for t in np.linspace(0, 1, 12)]
    result = audit.run(make_split(train, base[20:30], base[30:]))
    pairs = result.pairs("near")
    component = audit.groups_from_pairs(len(result.table), pairs[["i", "j"]].to_numpy())
    chained = [np.flatnonzero(component == g) for g in np.flatnonzero(np.bincount(component) > 2)]
    widest = max(audit.hamming(result.phash[m][:, None], result.phash[m][None]).max() for m in chained)
    assert widest > audit.NEAR_MAX_BITS
    near = result.report[result.report["issue"] == "near_duplicate"]
    assert len(near) and (near["detail"].astype(int) <= audit.NEAR_MAX_BITS).all()
    index = {i: k for k, i in enumerate(result.table["id"])}
    for row in near.itertuples():
        assert audit.hamming(result.phash[index[row.id]], result.phash[index[row.related_id]]) == int(row.detail)
    listed = set(near["id"])
    assert all(a in listed or b in listed for a, b in zip(pairs["id_a"], pairs["id_b"], strict=False))


def test_pairs_by_distance_counts_pairs_across_splits_and_labels():
    pairs = pd.DataFrame(
        {
            "bits": [2, 2, 4],
            "split_a": ["train", "train", "val"],
            "split_b": ["test", "train", "val"],
            "label_a": ["sad", "sad", "happy"],
            "label_b": ["sad", "angry", "happy"],
        }
    )
    table = audit.pairs_by_distance(pairs)
    assert table.to_dict(orient="index") == {
        2: {"pairs": 2, "across splits": 1, "labels differ": 1},
        4: {"pairs": 1, "across splits": 0, "labels differ": 0},
    }


def text_overlay(image, y, lift=80):
    """Letters drawn at 4x size and shrunk, added like a semi-transparent white stock-photo watermark."""
    big = np.zeros((192, 192), np.uint8)
    for k, char in enumerate("stockphoto"):
        cv2.putText(big, char, (2 + 19 * k, int(y * 192)), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 255, 2, cv2.LINE_AA)
    mask = cv2.resize(big, (48, 48), interpolation=cv2.INTER_AREA) / 255.0
    return np.clip(image + lift * mask, 0, 255).astype(np.uint8)


def test_watermark_heuristic_fires_on_drawn_text_not_on_clean_faces():
    rng = np.random.default_rng(0)
    faces = [cv2.GaussianBlur(synthetic.draw_face(c, rng), (0, 0), 1.0) for c in range(7)]
    clean = [audit.watermark_score(f) for f in faces]
    texts = [audit.watermark_score(text_overlay(f, 0.95)) for f in faces]
    assert max(clean) < audit.WATERMARK_MIN_CHAIN
    assert sum(t >= audit.WATERMARK_MIN_CHAIN for t in texts) >= 6
    assert np.mean(texts) > np.mean(clean) + 5


def test_watermark_candidates_in_report():
    rng = np.random.default_rng(0)
    faces = np.stack([cv2.GaussianBlur(synthetic.draw_face(c % 7, rng), (0, 0), 1.0) for c in range(14)])
    marked = faces.copy()
    marked[0] = text_overlay(faces[0], 0.72)
    result = audit.run(make_split(marked[:8], marked[8:11], marked[11:]))
    flagged = result.report[result.report["issue"] == "watermark_candidate"]
    assert "Training_0" in set(flagged["id"])
    assert int(flagged.loc[flagged["id"] == "Training_0", "detail"].iloc[0]) >= audit.WATERMARK_MIN_CHAIN


def test_report_round_trip(base, tmp_path):
    profile = config.Profile("test", None, {}, tmp_path)
    test = base[30:].copy()
    test[0] = base[0]
    result = audit.run(make_split(base[:20], base[20:30], test))
    audit.save(result.report, profile)
    loaded = audit.load(profile)
    assert list(loaded.columns) == audit.COLUMNS
    assert loaded["id"].tolist() == result.report["id"].tolist()
    assert audit.ids_to_drop(loaded) == {"Training_0"}


def test_load_without_audit_says_which_notebook(tmp_path):
    with pytest.raises(FileNotFoundError, match="01_data_overview"):
        audit.load(config.Profile("test", None, {}, tmp_path))


def test_double_filed_names_are_reported(base):
    split = make_split(base[:6], base[6:9], base[9:12])
    split.train.ids = split.train.ids.astype(object)
    split.val.ids = split.val.ids.astype(object)
    split.train.ids[0] = "Training_77-angry"
    split.val.ids[1] = "Training_77-surprise"
    result = audit.run(split)
    twins = result.double_filed()
    assert twins["id"].tolist() == ["Training_77-angry", "Training_77-surprise"]
    assert twins["file name"].unique().tolist() == ["Training_77"]
    assert twins["mean abs. difference to the first"].iloc[1] > 10  # two different pictures
    assert audit.run(make_split(base[:6], base[6:9], base[9:12])).double_filed().empty


def test_plots_say_when_there_is_nothing_to_show():
    import matplotlib

    matplotlib.use("Agg")
    from fer_helpers.analysis import grids

    fig = grids.pair_grid(np.zeros((0, 48, 48)), np.zeros((0, 48, 48)), suptitle="exact duplicates")
    assert "none" in fig.axes[0].texts[0].get_text()
