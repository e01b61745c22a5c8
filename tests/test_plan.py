"""book.plan: each training chapter's planned runs, timed on this machine, against the 120-minute cap."""

import nbformat
import pytest

from fer_helpers import config
from fer_helpers.book import plan
from fer_helpers.book.provenance import code_cells


@pytest.mark.parametrize("chapter", sorted(plan.PLANS))
def test_each_plan_names_the_models_recipes_and_budgets_its_chapter_trains(chapter):
    code = "\n".join(code_cells(nbformat.read(config.ROOT / "notebooks" / f"{chapter}.ipynb", as_version=4)))
    for planned in plan.PLANS[chapter]:
        assert f'"{planned.model}"' in code and f"config.{planned.recipe}" in code and f'"{planned.budget}"' in code
        assert plan.recipe_of(planned, config.PROFILES["full"]).epochs == config.PROFILES["full"].budget(planned.budget)


def test_report_sums_each_chapter_and_flags_those_over_the_cap():
    rows = [
        {"chapter": "04_baseline", "model": "a", "runs x epochs": "3 x 10", "s/epoch": 120.0, "minutes": 60.0},
        {"chapter": "04_baseline", "model": "b", "runs x epochs": "12 x 8", "s/epoch": 60.0, "minutes": 96.0},
        {"chapter": "05_augmentation", "model": "b", "runs x epochs": "6 x 8", "s/epoch": 60.0, "minutes": 48.0},
    ]
    text, over = plan.report(rows)
    assert over == ["04_baseline"]
    assert "04_baseline        training  156.0 min  OVER the 120 min cap" in text
    assert "05_augmentation    training   48.0 min\n" in text + "\n"


def test_estimate_times_each_model_once_and_scales_it_by_runs_and_epochs(tiny_split):
    rows = plan.estimate(["04_baseline", "05_augmentation"], config.PROFILES["smoke"], tiny_split, steps=1)
    assert [(r["chapter"], r["model"]) for r in rows] == [
        ("04_baseline", "baseline_std_model"),
        ("04_baseline", "vgg_cnn_small"),
        ("05_augmentation", "vgg_cnn_small"),
    ]
    assert rows[1]["s/epoch"] == rows[2]["s/epoch"] > 0  # the same model and recipe: timed once
    assert rows[1]["runs x epochs"] == "12 x 1" and rows[1]["minutes"] == pytest.approx(12 * rows[1]["s/epoch"] / 60)


def test_unknown_chapters_are_refused(capsys):
    with pytest.raises(SystemExit):
        plan.main(["07_gradcam"])
    assert "no plan for ['07_gradcam']" in capsys.readouterr().err
