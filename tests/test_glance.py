"""The report's claims at a glance: one short row per claim, every cell written."""

import numpy as np
from test_comparisons import runs

from fer_helpers import comparisons
from fer_helpers.book import glance
from fer_helpers.comparisons import Claim

N = 1000


def test_table_states_each_claim_as_measured_with_its_interval_and_verdict():
    level = comparisons.assess(
        "unet_64", "reaches 64 %", ("unet",), {"unet": runs([0.655, 0.660, 0.665])}, Claim(level=0.64)
    )
    pair = comparisons.assess(
        "unet_vs_cnn",
        "B beats A",
        ("cnn", "unet"),
        {"cnn": runs([0.6] * 3), "unet": runs([0.62] * 3, seed=1)},
        Claim(),
        leak_free=np.arange(N) % 2 == 0,
    )
    page = glance.table({"unet_64": level, "unet_vs_cnn": pair}, {"unet_64": "06_unet", "unet_vs_cnn": "06_unet"})
    assert list(page.index) == ["unet_64", "unet_vs_cnn"] and set(page["chapter"]) == {"06_unet"}
    assert page.loc["unet_64", "measured here (95 % interval)"].startswith("66.0% (")
    assert page.loc["unet_64", "measured here (95 % interval)"].endswith("against 64.0%")
    assert page.loc["unet_vs_cnn", "measured here (95 % interval)"].startswith("+2.0 points (")
    assert page.loc["unet_64", "leak-free test images"] == glance.NOT_COMPUTED
    assert page.loc["unet_vs_cnn", "leak-free test images"].endswith(f", {pair['leak_free']['verdict']}")
    assert list(page["verdict"]) == [level["verdict"], pair["verdict"]]
    text = page.to_string()
    assert "nan" not in text and "-0.0" not in text
