"""Denoising: filters restore noisy images, the sweep picks a sensible strength, the cache is used."""

import cv2
import numpy as np
import pytest

from fer_helpers import config
from fer_helpers.cleaning import denoise
from fer_helpers.dataset import synthetic
from fer_helpers.dataset.data import Split, Subset


@pytest.fixture(scope="module")
def clean():
    """Smooth synthetic faces without noise: a known clean reference."""
    rng = np.random.default_rng(0)
    return np.stack([cv2.GaussianBlur(synthetic.draw_face(c % 7, rng), (0, 0), 1.5) for c in range(12)])


def test_add_noise_has_the_requested_sigma(clean):
    flat = np.full((200, 48, 48), 128, np.uint8)
    noisy = denoise.add_noise(flat, 10)
    assert noisy.dtype == np.uint8
    assert noisy.astype(float).std() == pytest.approx(10, rel=0.03)
    np.testing.assert_array_equal(noisy, denoise.add_noise(flat, 10))  # seeded


@pytest.mark.parametrize("name", list(denoise.FILTERS))
def test_every_filter_improves_psnr_on_noisy_images(clean, name):
    noisy = denoise.add_noise(clean, 20)
    before, _ = denoise.psnr_ssim(clean, noisy)
    param = {"non-local means": 20, "gaussian": 1.0, "median": 3, "bilateral": 50}[name]
    after, ssim = denoise.psnr_ssim(clean, denoise.apply_filter(noisy, name, param))
    assert after.mean() > before.mean() + 2  # dB
    assert ssim.mean() > denoise.psnr_ssim(clean, noisy)[1].mean()


def test_psnr_of_identical_and_known_error():
    a = np.full((1, 48, 48), 100, np.uint8)
    b = a + np.uint8(5)
    psnr, _ssim = denoise.psnr_ssim(a, b)
    assert psnr[0] == pytest.approx(20 * np.log10(255 / 5))
    with np.errstate(divide="ignore"):  # PSNR of identical images is infinite
        psnr_same, ssim_same = denoise.psnr_ssim(a, a.copy())
    assert np.isinf(psnr_same[0]) and ssim_same[0] == pytest.approx(1.0)


def test_sweep_picks_stronger_filtering_for_stronger_noise(clean):
    noisy = {5: denoise.add_noise(clean, 5), 20: denoise.add_noise(clean, 20)}
    table = denoise.sweep(clean, noisy, {"non-local means": [3, 6, 10, 15, 20, 30]})
    chosen = denoise.best(table)
    h = chosen.set_index(["sigma", "filter"])["param"]
    assert h[20, "non-local means"] > h[5, "non-local means"]
    none = table[table["filter"] == "none"].set_index("sigma")["psnr"]
    assert none[5] > none[20] + 10  # about 20*log10(4) = 12 dB apart
    assert chosen.loc[chosen["filter"] == "non-local means", "psnr"].min() > none[20]
    report = denoise.evaluate(clean, noisy, chosen)
    assert set(report.columns) >= {"psnr", "psnr_se", "ssim", "ssim_se"}


def test_pick_clean_avoids_noisy_and_flat_images(clean):
    noisy = denoise.add_noise(clean, 25)
    flat = np.full((4, 48, 48), 90, np.uint8)
    pool = np.concatenate([clean, noisy, flat])
    chosen = denoise.pick_clean(pool, 5, quantile=0.4)
    assert len(chosen) == 5 and (chosen < len(clean)).all()


def test_threads_give_the_same_result(clean):
    images = np.concatenate([denoise.add_noise(clean, 15)] * 50)  # 600 images: the threaded path
    one = denoise.nlm(images, 10, threads=1)
    two = denoise.nlm(images, 10, threads=2)
    np.testing.assert_array_equal(one, two)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "CACHE_DIR", tmp_path / "cache")
    return tmp_path / "cache"


def test_cache_is_used_the_second_time(clean, cache_dir, monkeypatch):
    noisy = denoise.add_noise(clean, 10)
    first = denoise.denoised(noisy, h=8)
    assert len(list(cache_dir.glob("nlm-*.npz"))) == 1

    def fail(*args, **kwargs):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(denoise, "nlm", fail)
    loaded = denoise.STATS["loaded"]
    second = denoise.denoised(noisy, h=8)
    np.testing.assert_array_equal(first, second)
    assert denoise.STATS["loaded"] == loaded + 1
    with pytest.raises(AssertionError, match="recomputed"):
        denoise.denoised(noisy, h=9)  # other parameters: another cache entry
    with pytest.raises(AssertionError, match="recomputed"):
        denoise.denoised(noisy[::-1].copy(), h=8)  # other images: another cache entry


def test_no_cache_writes_nothing(clean, cache_dir):
    denoise.denoised(clean, h=5, cache=False)
    assert not cache_dir.exists() or not list(cache_dir.iterdir())


def test_split_and_subset_are_denoised_together_and_keep_their_ids(clean, cache_dir):
    noisy = denoise.add_noise(clean, 15)

    def subset(images, prefix):
        n = len(images)
        return Subset(
            images,
            np.arange(n, dtype=np.int8) % 7,
            np.array([f"{prefix}_{k}" for k in range(n)]),
            np.array(["Training"] * n),
        )

    split = Split(subset(noisy[:6], "a"), subset(noisy[6:9], "b"), subset(noisy[9:], "c"), "synthetic", "smoke")
    result = denoise.denoised(split, h=12)
    assert [len(result.train), len(result.val), len(result.test)] == [6, 3, 3]
    np.testing.assert_array_equal(result.val.ids, split.val.ids)
    np.testing.assert_array_equal(result.test.images, denoise.nlm(noisy[9:], 12, search=denoise.PIPELINE_SEARCH))
    assert len(list(cache_dir.glob("nlm-*.npz"))) == 1  # one entry for the whole split
    before = denoise.psnr_ssim(clean[:6], split.train.images)[0].mean()
    after = denoise.psnr_ssim(clean[:6], result.train.images)[0].mean()
    assert after > before
    sub = denoise.denoised(split.train, h=12)
    assert isinstance(sub, Subset) and sub.images.shape == split.train.images.shape
    with pytest.raises(TypeError):
        denoise.denoised([1, 2, 3])


def test_pipeline_settings_fall_back_and_read_results(tmp_path):
    from fer_helpers import results

    profile = config.Profile("test", None, {}, tmp_path)
    assert denoise.pipeline_settings(profile) == {
        "h": denoise.DEFAULT_H,
        "template": denoise.TEMPLATE,
        "search": denoise.PIPELINE_SEARCH,
    }
    results.save_result("denoising", {"pipeline": {"h": 7, "template": 7, "search": 15}}, profile)
    assert denoise.pipeline_settings(profile) == {"h": 7.0, "template": 7, "search": 15}


def test_window_and_level_choices():
    import pandas as pd

    windows = pd.DataFrame({"search window": [21, 15, 11, 7], "psnr": [31.20, 31.40, 31.38, 30.9]})
    assert denoise.smallest_window(windows) == 11
    assert denoise.smallest_window(windows, tolerance_db=0.0) == 15
    assert denoise.nearest_level([5, 10, 20], 3.6) == 5
    assert denoise.nearest_level([5, 10, 20], 16) == 20


def test_compare_windows_reports_quality_and_cost(clean):
    noisy = denoise.add_noise(clean, 10)
    table = denoise.compare_windows(clean, noisy, 10, windows=(21, 7))
    assert table["search window"].tolist() == [21, 7]
    assert (table["psnr"] > denoise.psnr_ssim(clean, noisy)[0].mean()).all()
    assert (table["cpu ms per image"] > 0).all() and (table["ms per image"] > 0).all()


def test_noise_estimate_tracks_added_noise_and_handles_constant_images(clean):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "mean of empty slice" from blank images
        flat = denoise.noise_sigma(np.zeros((2, 48, 48), np.uint8))
    assert flat.tolist() == [0.0, 0.0]
    low, high = denoise.noise_sigma(denoise.add_noise(clean, 5)), denoise.noise_sigma(denoise.add_noise(clean, 20))
    assert np.median(low) == pytest.approx(5, rel=0.3) and np.median(high) == pytest.approx(20, rel=0.2)


def test_level_summary_says_what_the_prose_says_of_each_noise_level():
    import pandas as pd

    filters = ["none", "non-local means", "bilateral", "gaussian", "median"]
    psnr = {5: [34.0, 34.5, 35.0, 33.0, 34.02], 10: [28.0, 31.0, 30.0, 29.0, 27.0]}
    evaluation = pd.DataFrame(
        [
            {"sigma": sigma, "filter": name, "psnr": value, "ssim": value / 40}
            for sigma, values in psnr.items()
            for name, value in zip(filters, values, strict=True)
        ]
    )
    levels = denoise.level_summary(evaluation)
    assert levels.index.tolist() == [5, 10]
    assert levels.loc[5, "winner"] == "bilateral" and levels.loc[5, "winner_psnr"] == 35.0
    assert levels.loc[5, "nlm_rank"] == "second" and levels.loc[10, "nlm_rank"] == "first"
    assert levels.loc[10, "winner"] == "non-local means"
    assert levels.loc[5, "median_vs_none"] == "level with" and levels.loc[10, "median_vs_none"] == "below"
    assert levels.loc[10, "none_psnr"] == 28.0 and levels.loc[10, "nlm_ssim"] == pytest.approx(31.0 / 40)
    raised = evaluation.assign(psnr=evaluation["psnr"].where(evaluation["filter"] != "median", 40.0))
    assert denoise.level_summary(raised)["median_vs_none"].tolist() == ["above", "above"]
