"""Denoising: the study's non-local means next to Gaussian, median and bilateral filters, how well each
restores faces with known added noise, and non-local means as a cached option of the data pipeline.

    noisy = denoise.add_noise(clean, sigma=10)
    table = denoise.sweep(clean, {10: noisy}, {"non-local means": [5, 10, 15]})
    split = denoise.denoised(split, **denoise.pipeline_settings(profile))   # cached in data/cache/
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import cv2
import numpy as np
import pandas as pd

from .. import config
from ..results import atomic, load_result

TEMPLATE = 7  # cv2.fastNlMeansDenoising's default windows, as the study used them
SEARCH = 21
# Pipeline defaults, used when chapter 2 has not run; the chapter measures its own (pipeline_settings).
DEFAULT_H = 6.0
PIPELINE_SEARCH = 11
BILATERAL_D = 5
BILATERAL_SPACE = 3.0

# name -> (parameter name, filter(image uint8 48x48, parameter) -> uint8 image)
FILTERS = {
    "non-local means": ("h", lambda im, h: cv2.fastNlMeansDenoising(im, None, float(h), TEMPLATE, SEARCH)),
    "gaussian": ("sigma", lambda im, s: cv2.GaussianBlur(im, (0, 0), float(s))),
    "median": ("ksize", lambda im, k: cv2.medianBlur(im, int(k))),
    "bilateral": ("sigma_color", lambda im, s: cv2.bilateralFilter(im, BILATERAL_D, float(s), BILATERAL_SPACE)),
}
GRIDS = {
    "non-local means": [2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 18, 21, 25, 30],
    "gaussian": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.2, 1.5],
    "median": [3, 5],
    "bilateral": [5, 10, 15, 20, 30, 40, 50, 60, 80],
}


# ---- noise and quality -------------------------------------------------------------------------


def add_noise(images: np.ndarray, sigma: float, seed: int = config.SEED) -> np.ndarray:
    """`images` (uint8) plus Gaussian noise of standard deviation `sigma` grey levels, rounded and clipped to uint8."""
    rng = np.random.default_rng(seed)
    noisy = images.astype(np.float64) + rng.normal(0.0, sigma, images.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def noise_sigma(images: np.ndarray) -> np.ndarray:
    """Estimated noise standard deviation of each image in grey levels (skimage's wavelet estimator);
    0 for a constant image (where the estimator has nothing to work on)."""
    from skimage.restoration import estimate_sigma

    return np.array([estimate_sigma(im.astype(np.float64)) if im.min() != im.max() else 0.0 for im in images])


def pick_clean(
    images: np.ndarray, n: int, quantile: float = 0.25, min_std: float = 20.0, seed: int = config.SEED
) -> np.ndarray:
    """Indices of `n` random clean-looking images: estimated noise below the `quantile` of `images` and
    contrast (pixel std) of at least `min_std` grey levels (no blank or washed-out images)."""
    sigma = noise_sigma(images)
    contrast = images.reshape(len(images), -1).astype(np.float32).std(axis=1)
    ok = np.isfinite(sigma) & (contrast >= min_std)
    eligible = np.flatnonzero(ok & (sigma <= np.quantile(sigma[ok], quantile))) if ok.any() else np.array([], int)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(eligible, min(n, len(eligible)), replace=False))


def apply_filter(images: np.ndarray, name: str, param) -> np.ndarray:
    """Filter every image (uint8 N x 48 x 48) with one of :data:`FILTERS`."""
    if len(images) == 0:
        return images.copy()
    if name == "non-local means":  # the slow one: in parallel
        return nlm(images, param, TEMPLATE, SEARCH)
    function = FILTERS[name][1]
    return np.stack([function(np.ascontiguousarray(im), param) for im in images])


def psnr_ssim(clean: np.ndarray, restored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-image PSNR (dB) and SSIM of `restored` against `clean` (uint8, data range 255)."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    psnr = np.array([peak_signal_noise_ratio(c, r, data_range=255) for c, r in zip(clean, restored, strict=False)])
    ssim = np.array([structural_similarity(c, r, data_range=255) for c, r in zip(clean, restored, strict=False)])
    return psnr, ssim


def sweep(clean: np.ndarray, noisy: dict, grids: dict | None = None) -> pd.DataFrame:
    """Mean PSNR/SSIM of every filter and parameter in `grids` on every noise level of `noisy`
    ({sigma: noisy copy of `clean`}); the row with filter "none" is the noisy input itself."""
    grids = GRIDS if grids is None else grids
    rows = []
    for sigma, images in noisy.items():
        psnr, ssim = psnr_ssim(clean, images)
        rows.append({"sigma": sigma, "filter": "none", "param": np.nan, "psnr": psnr.mean(), "ssim": ssim.mean()})
        for name, params in grids.items():
            for param in params:
                psnr, ssim = psnr_ssim(clean, apply_filter(images, name, param))
                rows.append({"sigma": sigma, "filter": name, "param": param, "psnr": psnr.mean(), "ssim": ssim.mean()})
    return pd.DataFrame(rows)


def best(table: pd.DataFrame, metric: str = "psnr") -> pd.DataFrame:
    """For every noise level and filter, the parameter with the highest mean `metric`."""
    chosen = table.loc[table.groupby(["sigma", "filter"], sort=False)[metric].idxmax()]
    return chosen.reset_index(drop=True)


def evaluate(clean: np.ndarray, noisy: dict, params: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard error of PSNR/SSIM of each filter with its chosen parameter (`params`: rows of
    sigma, filter, param as :func:`best` returns) on images that played no part in choosing it."""
    rows = []
    for row in params.itertuples():
        images = noisy[row.sigma]
        restored = images if row.filter == "none" else apply_filter(images, row.filter, row.param)
        psnr, ssim = psnr_ssim(clean, restored)
        se = lambda v: v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.nan  # noqa: E731
        rows.append(
            {
                "sigma": row.sigma,
                "filter": row.filter,
                "param": row.param,
                "psnr": psnr.mean(),
                "psnr_se": se(psnr),
                "ssim": ssim.mean(),
                "ssim_se": se(ssim),
            }
        )
    return pd.DataFrame(rows)


ORDINAL = {1: "first", 2: "second", 3: "third", 4: "fourth"}


def level_summary(evaluation: pd.DataFrame, level_db: float = 0.05) -> pd.DataFrame:
    """What the prose says of each noise level of an :func:`evaluate` table, one row per sigma: PSNR and SSIM
    of the noisy input ("none") and of non-local means, the filter with the highest PSNR and that PSNR, the
    median filter's PSNR and whether it is "above", "below" or "level with" the input's (within `level_db`
    dB), and the rank of non-local means among the filters by PSNR ("first", "second", ...)."""
    at = evaluation.set_index(["sigma", "filter"])
    rows = {}
    for sigma in evaluation["sigma"].unique():
        level = at.loc[sigma]
        filtered = level.drop("none")
        winner = filtered["psnr"].idxmax()
        gain = level.loc["median", "psnr"] - level.loc["none", "psnr"]
        rows[sigma] = {
            "none_psnr": level.loc["none", "psnr"],
            "nlm_psnr": level.loc["non-local means", "psnr"],
            "nlm_ssim": level.loc["non-local means", "ssim"],
            "none_ssim": level.loc["none", "ssim"],
            "winner": str(winner),
            "winner_psnr": filtered.loc[winner, "psnr"],
            "median_psnr": level.loc["median", "psnr"],
            "median_vs_none": "above" if gain > level_db else "below" if gain < -level_db else "level with",
            "nlm_rank": ORDINAL[int((filtered["psnr"] > filtered.loc["non-local means", "psnr"]).sum()) + 1],
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("sigma")


# ---- the pipeline option: non-local means over a whole data set, cached --------------------------


def content_hash(images: np.ndarray) -> str:
    """A checksum of an image array's shape, dtype and bytes (what the cache is keyed by)."""
    digest = hashlib.sha256(f"{images.shape}|{images.dtype}".encode())
    digest.update(np.ascontiguousarray(images).tobytes())
    return digest.hexdigest()[:16]


def cache_path(images: np.ndarray, h: float, template: int = TEMPLATE, search: int = SEARCH):
    return config.CACHE_DIR / f"nlm-{content_hash(images)}-h{float(h):g}-t{template}-s{search}.npz"


def _nlm_chunk(args) -> np.ndarray:
    images, h, template, search = args
    return np.stack(
        [cv2.fastNlMeansDenoising(np.ascontiguousarray(im), None, float(h), template, search) for im in images]
    )


def nlm(
    images: np.ndarray, h: float, template: int = TEMPLATE, search: int = SEARCH, threads: int | None = None
) -> np.ndarray:
    """Non-local means over every image, in `threads` threads (default: all CPUs; OpenCV releases the
    GIL, so threads run in parallel without copying the images to worker processes)."""
    threads = threads or os.cpu_count() or 1
    if len(images) == 0:
        return images.copy()
    if threads == 1 or len(images) < 64:
        return _nlm_chunk((images, h, template, search))
    chunks = np.array_split(images, threads * 8)
    inner = cv2.getNumThreads()
    cv2.setNumThreads(1)  # parallel over images, not inside one 48x48 image
    try:
        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(_nlm_chunk, [(c, h, template, search) for c in chunks]))
    finally:
        cv2.setNumThreads(inner)
    return np.concatenate(parts)


STATS = {"computed": 0, "loaded": 0}  # how often denoised() computed vs read its cache (tests check this)


def _denoised_array(images: np.ndarray, h, template, search, cache, refresh, threads) -> np.ndarray:
    path = cache_path(images, h, template, search)
    if cache and not refresh and path.exists():
        with np.load(path, allow_pickle=False) as stored:
            STATS["loaded"] += 1
            return stored["images"]
    result = nlm(images, h, template, search, threads)
    STATS["computed"] += 1
    if cache:
        with atomic(path) as partial:
            np.savez(partial, images=result)
    return result


def denoised(
    data,
    h: float = DEFAULT_H,
    template: int = TEMPLATE,
    search: int = PIPELINE_SEARCH,
    cache: bool = True,
    refresh: bool = False,
    threads: int | None = None,
):
    """`data` with every image denoised by non-local means (cv2.fastNlMeansDenoising).

    `data` is a uint8 image array (N x 48 x 48), a `data.Subset` or a `data.Split` (all three subsets are
    denoised together and cached as one entry); the same type comes back. With `cache`, the result is
    stored in data/cache/ keyed by the images' content hash and the parameters, so it is computed once
    per data set; `refresh` recomputes it.
    """
    if isinstance(data, np.ndarray):
        return _denoised_array(data, h, template, search, cache, refresh, threads)
    if hasattr(data, "train") and hasattr(data, "test"):  # a Split
        parts = [data.train, data.val, data.test]
        stacked = np.concatenate([p.images for p in parts])
        result = _denoised_array(stacked, h, template, search, cache, refresh, threads)
        ends = np.cumsum([len(p) for p in parts])[:-1]
        new = [replace(p, images=im) for p, im in zip(parts, np.split(result, ends), strict=False)]
        return replace(data, train=new[0], val=new[1], test=new[2])
    if hasattr(data, "images"):  # a Subset
        return replace(data, images=_denoised_array(data.images, h, template, search, cache, refresh, threads))
    raise TypeError(f"denoised() takes an image array, a Subset or a Split, not {type(data).__name__}")


def pipeline_settings(profile: config.Profile) -> dict:
    """The non-local-means settings chapter 2 chose ({"h", "template", "search"} from results/denoising.json
    of `profile`), else the module defaults: ``denoised(split, **pipeline_settings(profile))``."""
    settings = {"h": DEFAULT_H, "template": TEMPLATE, "search": PIPELINE_SEARCH}
    try:
        stored = load_result("denoising", profile)["pipeline"]
    except (FileNotFoundError, KeyError):
        return settings
    return {key: type(value)(stored.get(key, value)) for key, value in settings.items()}


def compare_windows(
    clean: np.ndarray, noisy: np.ndarray, h: float, windows=(21, 15, 11, 9, 7), template: int = TEMPLATE
) -> pd.DataFrame:
    """Non-local means with filter strength `h` and each search window: mean PSNR/SSIM against `clean`,
    and milliseconds per image in one thread, as wall time and as CPU time (the CPU time hardly
    depends on what else the machine is doing)."""
    import time

    rows = []
    for window in windows:
        wall, cpu = time.perf_counter(), time.process_time()
        restored = _nlm_chunk((noisy, h, template, window))
        n = max(len(noisy), 1)
        wall_ms, cpu_ms = 1000 * (time.perf_counter() - wall) / n, 1000 * (time.process_time() - cpu) / n
        psnr, ssim = psnr_ssim(clean, restored)
        rows.append(
            {
                "search window": window,
                "psnr": psnr.mean(),
                "ssim": ssim.mean(),
                "ms per image": wall_ms,
                "cpu ms per image": cpu_ms,
            }
        )
    return pd.DataFrame(rows)


def smallest_window(windows: pd.DataFrame, tolerance_db: float = 0.05) -> int:
    """The smallest search window whose PSNR is within `tolerance_db` of the best one in `windows`
    (a :func:`compare_windows` table): as good, and faster."""
    good = windows[windows["psnr"] >= windows["psnr"].max() - tolerance_db]
    return int(good["search window"].min())


def nearest_level(levels, sigma: float):
    """The noise level of `levels` closest to `sigma` (e.g. to the data's own estimated noise)."""
    levels = list(levels)
    return levels[int(np.argmin([abs(level - sigma) for level in levels]))]
