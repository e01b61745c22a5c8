import json

import numpy as np
import pytest

from fer_helpers import config
from fer_helpers.book import provenance, runtimes


def test_readme_states_the_recorded_chapter_times():
    readme = (config.ROOT / "README.md").read_text()
    assert runtimes.readme_with_times(readme) == readme, "README.md's chapter times differ from results/runs.json"


def test_readme_times_replace_only_the_text_between_the_markers(tmp_path):
    (tmp_path / "notebooks").mkdir()
    for stem in ("01_data", "02_model"):
        (tmp_path / "notebooks" / f"{stem}.ipynb").write_text("{}")
    runs = {"notebooks": {"01_data": {"wall_seconds": 61.0, "git_commit": "abc1234", "finished": "2026-11-28T10:00"}}}
    path = provenance.runs_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(runs))
    readme = f"# Title\n\n{runtimes.README_START}\nold table\n{runtimes.README_END}\n\nafter\n"
    (tmp_path / "README.md").write_text(readme)
    runtimes.update_readme(tmp_path)
    written = (tmp_path / "README.md").read_text()
    assert written.startswith(f"# Title\n\n{runtimes.README_START}\n| notebook |") and written.endswith("\n\nafter\n")
    assert "old table" not in written and "[01_data](notebooks/01_data.ipynb) | 1 min 01 s" in written
    assert "**1 min 01 s**" in written and "Not yet run in the full profile: `02_model`." in written


def test_readme_without_markers_is_refused_with_their_names(tmp_path):
    with pytest.raises(ValueError, match="README.md: the markers .*chapter times"):
        runtimes.readme_with_times("# no markers\n", tmp_path)


def test_readme_states_what_the_run_store_holds():
    readme = (config.ROOT / "README.md").read_text()
    table = runtimes.store_markdown()
    written = runtimes.between(readme, runtimes.STORE_START, runtimes.STORE_END, table)
    assert written == readme, "README.md's run-store table differs from runs/ (make runs writes it)"


def test_the_store_table_sums_each_chapters_runs_and_the_store_once(tmp_path, monkeypatch):
    from fer_helpers import chapters
    from fer_helpers.runstore import store

    profile = config.Profile("full", None, {}, tmp_path)
    record = {"arm": "study_pipeline", "cost": {"training_flops": 2e15}, "machine": {"train_seconds": 3600.0}}
    for key, arm in (("a", "study_pipeline"), ("b", "study_pipeline_x2"), ("c", "unet_study")):
        store.write(key, profile, record | {"arm": arm}, {"val": np.zeros((1, 7)), "test": np.zeros((1, 7))})
    lines = runtimes.store_markdown(profile)
    row = {name: next(line for line in lines if line.startswith(f"| {name}")) for name in ("`04", "`05", "`06", "**")}
    assert "| 2 | 0 |" in row["`04"] and "| 4.00 | 2.0 |" in row["`04"]  # the arm and its doubled-budget check
    assert "| 2 | 0 |" in row["`05"]  # the control arm is chapter 5's too
    assert "| 1 | 0 |" in row["`06"] and "| 3 | 0 |" in row["**"] and "| 6.00 | 3.0 |" in row["**"]
    assert len(lines) == 2 + len([c for c in chapters.CHAPTERS.values() if c.arms]) + 1  # header, rule, total
