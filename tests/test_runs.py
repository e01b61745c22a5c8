"""runs: the plan of the book's runs, training the missing ones into the store, reading them, verifying them."""

import dataclasses
import shutil
from types import SimpleNamespace

import pandas as pd
import pytest

from fer_helpers import chapters, config, specs
from fer_helpers.analysis import levers
from fer_helpers.runstore import experiments, plan, runs, store

TINY = dataclasses.replace(config.STUDY_BASELINE, batch=16)
ARMS = (
    specs.Arm("tiny_pipeline", "tiny CNN", "baseline_std_model", TINY, "study", keep=1),
    specs.Arm("tiny_outliers_kept", "tiny CNN, outliers kept", "baseline_std_model", TINY, "study", "outliers kept"),
)
CLAIM = specs.ClaimSpec("tiny", "Outliers matter", "difference", ("tiny_outliers_kept", "tiny_pipeline"))


def declare(monkeypatch, *arms, claims=()):
    """Make the book one chapter, 04_tiny, of these arms and claims."""
    monkeypatch.setattr(chapters, "CHAPTERS", {"04_tiny": specs.Chapter("04_tiny", (), arms, claims)})


@pytest.fixture
def book(monkeypatch, tiny_split, tmp_path):
    """A one-chapter book on the tiny split, writing under tmp_path, its outlier list the first training image."""
    declare(monkeypatch, *ARMS, claims=(CLAIM,))
    profile = config.Profile("full", None, {"study": 1}, tmp_path)
    profile.artifacts_dir.mkdir(parents=True)
    pd.DataFrame({"key": tiny_split.train.keys[:1]}).to_csv(profile.artifacts_dir / "outliers.csv", index=False)
    return profile


def test_the_plan_lists_each_run_once_with_its_cost_in_chapter_order(book, tiny_split):
    planned = plan.plan(None, tiny_split, book)
    assert [(p.arm.name, p.seed) for p in planned] == [(arm.name, seed) for arm in ARMS for seed in config.SEEDS]
    assert planned[0].flops < planned[3].flops  # one training image fewer
    doubled = plan.planned([ARMS[1].doubled()], tiny_split, book)[0]
    assert doubled.flops == 2 * planned[3].flops and doubled.seed == 42  # twice the epochs, one seed
    text = plan.describe(planned, book, {None: 1e9})
    assert "6 of 6 runs missing" in text and planned[0].key in text


def test_a_chapters_doubled_checks_come_before_the_next_chapters_arms(book, tiny_split, monkeypatch):
    later = specs.Arm("tiny_later", "tiny CNN, weighted", "baseline_std_model", TINY, "study", class_weights=True)
    monkeypatch.setitem(chapters.CHAPTERS, "05_tiny", specs.Chapter("05_tiny", (), (later,)))
    checks = {"04_tiny": [ARMS[1].doubled()], "05_tiny": []}
    monkeypatch.setattr(plan, "doubled_needed", lambda stems, base, split, profile: (checks[stems[0]], []))
    names = [p.arm.name for p in plan.plan(None, tiny_split, book)]
    assert names == ["tiny_pipeline"] * 3 + ["tiny_outliers_kept"] * 3 + ["tiny_outliers_kept_x2"] + ["tiny_later"] * 3


def test_the_plan_sums_up_each_chapter_against_the_hours_given(book, tiny_split):
    planned = plan.plan(None, tiny_split, book)
    rates = {None: 1e9}
    need = sum(p.seconds(rates) for p in planned) / 3600
    (line,) = [row for row in plan.by_chapter(planned, book, rates) if row.startswith("04_tiny")]
    assert line.split()[:4] == ["04_tiny", "0", "-", "-"] and " 6 " in line  # nothing stored, six runs missing
    assert plan.by_chapter(planned, book, rates, 2 * need)[1].endswith("within")
    assert plan.by_chapter(planned, book, rates, need / 2)[1].endswith("over")
    assert "load average now" in plan.describe(planned, book, rates, need)


def test_identical_arms_share_their_runs_and_each_arm_reads_them(book, tiny_split, monkeypatch):
    first = dataclasses.replace(ARMS[0], keep=0)
    twin = dataclasses.replace(ARMS[0], name="tiny_twin", label="tiny twin", seeds=(42,), keep=1)
    declare(monkeypatch, first, twin)
    planned = plan.plan(None, tiny_split, book)
    assert [(p.arm.name, p.seed, p.also) for p in planned] == [
        ("tiny_pipeline", 42, ("tiny_twin",)),
        ("tiny_pipeline", 43, ()),
        ("tiny_pipeline", 44, ()),
    ]  # trained once, under the first arm
    assert planned[0].keeps() and not planned[1].keeps()  # the twin keeps the shared run's weights
    monkeypatch.setattr(runs.store, "find", lambda key, profile: key)  # every run stored
    found = runs.chapter_runs("04_tiny", tiny_split, book)
    assert found == {"tiny_pipeline": [p.key for p in planned], "tiny_twin": [planned[0].key]}


def test_an_arm_validation_chooses_waits_for_the_runs_it_is_chosen_from(book, tiny_split, monkeypatch, capsys):
    candidate = dataclasses.replace(ARMS[0], seeds=(42,), keep=0)  # one seed, as a lever or a candidate is
    chosen = dataclasses.replace(ARMS[0], name="tiny_chosen", label="tiny chosen", chosen_by=(candidate.name,))
    declare(monkeypatch, candidate, chosen)
    planned = plan.plan(None, tiny_split, book)
    assert [(p.arm.name, p.seed, p.also) for p in planned] == [
        ("tiny_pipeline", 42, ("tiny_chosen",)),
        ("tiny_chosen", 43, ()),
        ("tiny_chosen", 44, ()),
    ]
    # the candidate's own seed is needed whatever validation chooses; the chosen arm's other seeds wait for it
    assert plan.waiting(planned, book) == {planned[1].key: ["tiny_pipeline"], planned[2].key: ["tiny_pipeline"]}
    assert f"{planned[1].key} waits for its choice" in plan.describe(planned, book, {None: 1e9})
    monkeypatch.setattr(plan.store, "find", lambda key, profile: key == planned[0].key)  # the candidate is in
    assert plan.waiting(planned, book) == {}
    # its choice all in, the arm is checked against it first, and held back when validation chose otherwise
    monkeypatch.setattr(experiments, "from_store", lambda found, split: found)
    monkeypatch.setattr(levers, "check_choice", lambda arm, trials, val: None)
    assert runs.refused_choices(planned, {}, tiny_split, book) == {}

    def chose_otherwise(arm, trials, val):
        raise ValueError("validation keeps another")

    monkeypatch.setattr(levers, "check_choice", chose_otherwise)
    held = runs.refused_choices(planned, {}, tiny_split, book)
    assert held == {planned[1].key: ["tiny_pipeline"], planned[2].key: ["tiny_pipeline"]}
    assert "tiny_chosen: not trained: validation keeps another" in capsys.readouterr().out


def test_fitting_takes_the_runs_that_fit_in_plan_order_then_starts_the_next_if_an_epoch_of_it_fits(book, tiny_split):
    planned = plan.plan(None, tiny_split, dataclasses.replace(book, epochs={"study": 2}))
    one, epoch = planned[0].seconds({None: 1e9}), planned[0].epoch_seconds({None: 1e9})
    assert plan.fitting(planned, {None: 1e9}, None) == planned
    assert plan.fitting(planned, {None: 1e9}, 2.7 * one / 3600) == planned[:3]  # the third goes to the deadline
    assert plan.fitting(planned, {None: 1e9}, (2 * one + epoch / 2) / 3600) == planned[:2]  # not one epoch of it
    assert planned[0].seconds({None: 1e9}) == pytest.approx(planned[0].epochs * epoch)
    half = dataclasses.replace(planned[0], done=planned[0].epochs // 2)  # a backup holds half of its epochs
    assert half.seconds({None: 1e9}) == pytest.approx((planned[0].epochs - half.done) * epoch)


def test_rates_come_from_runs_made_on_the_same_cpu_model_with_the_same_vector_instructions(monkeypatch):
    from fer_helpers import machine

    here = {"model": "AMD EPYC", "flags": ["avx", "avx2"]}
    wide = {"model": "AMD EPYC", "flags": ["avx", "avx2", "avx512f"]}

    def run(cpu, flops, seconds, builder="vgg_cnn", **options):
        spec = {"builder": builder, "options": options}
        cost, made = {"training_flops": flops}, {"cpu": cpu, "train_seconds": seconds}
        return SimpleNamespace(record={"spec": spec, "cost": cost, "machine": made, "epochs": 4})

    monkeypatch.setattr(machine, "cpu_info", lambda: here)
    monkeypatch.setattr(store, "stored", lambda profile: [run(here, 4e12, 100.0), run(wide, 4e12, 25.0)])
    assert plan.machine_rates(None) == {("vgg_cnn", "{}"): 4e10, "vgg_cnn": 4e10, None: 4e10}
    monkeypatch.setattr(store, "stored", lambda profile: [run(wide, 4e12, 25.0)])
    assert plan.machine_rates(None) == {}  # an AVX2-only EPYC times its own rate rather than borrow a faster one's
    assert machine.cpu_label(here) == "AMD EPYC, AVX2" and machine.cpu_label(wide) == "AMD EPYC, AVX-512"


def test_a_model_trained_only_on_another_kind_of_cpu_is_scaled_by_the_networks_both_kinds_trained(monkeypatch):
    from fer_helpers import machine

    here = {"model": "AMD EPYC", "flags": ["avx2"]}
    wide = {"model": "AMD EPYC", "flags": ["avx2", "avx512f"]}

    def run(cpu, flops, seconds, builder, **options):
        spec = {"builder": builder, "options": options}
        cost, made = {"training_flops": flops}, {"cpu": cpu, "train_seconds": seconds}
        return SimpleNamespace(record={"spec": spec, "cost": cost, "machine": made, "epochs": 4})

    monkeypatch.setattr(machine, "cpu_info", lambda: here)
    runs_ = [
        run(here, 3e12, 100.0, "vgg_cnn", window=44),  # 30 GFLOP/s here
        run(wide, 9e12, 100.0, "vgg_cnn"),  # the same network at 90 GFLOP/s on the wide CPU: a third of its speed here
        run(wide, 15e12, 100.0, "attention_unet"),  # 150 GFLOP/s there, so 50 here
    ]
    monkeypatch.setattr(store, "stored", lambda profile: runs_)
    rates = plan.machine_rates(None)
    assert rates[("attention_unet", "{}")] == pytest.approx(5e10)
    assert rates[("vgg_cnn", '{"window": 44}')] == pytest.approx(3e10) and rates[None] == pytest.approx(3e10)
    assert rates[("vgg_cnn", "{}")] == pytest.approx(3e10)  # the wide CPU's other model, at a third of its rate there
    assert rates["attention_unet"] == pytest.approx(5e10)  # the network's rate, for its models not trained anywhere


def test_make_runs_plans_again_after_each_run_so_the_checks_follow_the_runs_they_need(
    book, tiny_split, monkeypatch, capsys
):
    from fer_helpers.modelling import training

    stored, clock = set(), [0.0]

    def train(p, split, profile, deadline=None):  # stores the run, taking the time the plan says, unless time is up
        clock[0] += p.seconds({None: 1e3})
        if deadline is not None and clock[0] > deadline:
            store.parked_folder(p.key, profile).mkdir(parents=True)
            (store.parked_folder(p.key, profile) / "progress.json").write_text("{}")
            raise training.OutOfTime(f"{p.key}: stopped at its deadline")
        stored.add(p.key)
        return SimpleNamespace(record={"metrics": {"val_accuracy": 0.5}})

    monkeypatch.setattr(runs, "train", train)
    monkeypatch.setattr(runs.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(store, "find", lambda key, profile: key in stored)
    monkeypatch.setattr(plan, "machine_rates", lambda profile: {None: 1e3})

    def checks(stems, base, split, profile):  # as judging does: a claim's check is known once its runs are all in
        return [ARMS[1].doubled()] if all(p.key in stored for p in base) else [], []

    monkeypatch.setattr(plan, "doubled_needed", checks)
    names = [p.arm.name for p in runs.train_missing(None, tiny_split, book)]
    assert names == ["tiny_pipeline"] * 3 + ["tiny_outliers_kept"] * 3 + ["tiny_outliers_kept_x2"]
    stored.clear()
    two = dataclasses.replace(book, epochs={"study": 2})
    one = plan.plan(None, tiny_split, two)[0].seconds({None: 1e3})
    started = runs.train_missing(None, tiny_split, two, hours=2.7 * one / 3600)  # two fit, the third is parked
    assert len(started) == 3 and len(stored) == 2 and started[2].key not in stored
    assert f"Commit runs/parked/{started[2].key} (0.0 MiB)" in capsys.readouterr().out


def test_a_run_stopped_at_its_deadline_is_parked_and_resumes_there_on_another_machine(book, tiny_split, monkeypatch):
    import time

    from fer_helpers import machine
    from fer_helpers.modelling import training

    declare(monkeypatch, dataclasses.replace(ARMS[0], seeds=(42,)))
    two = dataclasses.replace(book, epochs={"study": 2})
    (p,) = plan.plan(None, tiny_split, two)
    whole = runs.train(p, tiny_split, two, scratch=True)[0]
    clock = iter([0.0, 1e9])  # before epochs 1 and 2: the second would end past the deadline
    monkeypatch.setattr(
        training, "time", SimpleNamespace(monotonic=lambda: next(clock), perf_counter=time.perf_counter)
    )
    with pytest.raises(training.OutOfTime, match="stopped after epoch 1 of 2"):
        runs.train(p, tiny_split, two, deadline=100.0)
    parked = store.parked_folder(p.key, two)
    assert (parked / "progress.json").is_file() and plan.plan(None, tiny_split, two)[0].done == 1
    shutil.rmtree(store.backup_folder(p.key, two))  # a new machine: only the committed parked copy is left
    other = {"model": "Other CPU", "flags": ["avx2"]}
    monkeypatch.setattr(training, "cpu_info", lambda: other)
    record = runs.train(p, tiny_split, two).record
    assert record["history"] == whole["history"] and record["machine"]["resumed_at"] == 1
    assert [s["epochs"] for s in store.sessions(record)] == [1, 1] and store.sessions(record)[1]["cpu"] == other
    assert not parked.exists() and machine.cpu_label(other) == "Other CPU, AVX2"


def test_a_chapter_with_missing_runs_stops_with_the_command_that_trains_them(book, tiny_split):
    with pytest.raises(store.MissingRuns, match="needs 6 run.*make runs NB=04_tiny"):
        runs.chapter_runs("04_tiny", tiny_split, book)


def test_the_smoke_profile_trains_inline_with_the_checks_its_claim_needs_and_verifies_runs(
    book, tiny_split, monkeypatch
):
    smoke = dataclasses.replace(book, subset_fraction=0.5)
    monkeypatch.setattr(store, "code_digest", lambda: "edited since")  # a record names the code it trained with
    found = runs.chapter_runs("04_tiny", tiny_split, smoke)
    seeds = {arm: [r.seed for r in stored] for arm, stored in found.items()}
    assert seeds["tiny_pipeline"] == seeds["tiny_outliers_kept"] == [42, 43, 44]
    # one epoch on a tiny split cannot show a 4-point gain: the claim's word could change, so it gets its checks
    assert seeds["tiny_outliers_kept_x2"] == seeds["tiny_pipeline_x2"] == [42]
    first = found["tiny_pipeline"][0]
    assert first.record["cost"]["training_flops"] > 0 and first.record["machine"]["device"] == "CPU"
    assert first.model.count_params() == first.record["cost"]["params"]  # the kept seed's weights
    assert not (found["tiny_pipeline"][1].path / store.MODEL).exists()
    assert not (found["tiny_pipeline_x2"][0].path / store.MODEL).exists()
    assert runs.verify(first.key, tiny_split, smoke) == []
    assert first.record["code_digest"] == runs.LOADED["code_digest"] != "edited since"
    assert store.find(first.key, smoke).record["code_verified"] == [runs.LOADED["code_digest"]]
    trained = first.history["val_accuracy"][0]
    store.update_record(first, history={**first.history, "val_accuracy": [0.0]})
    assert runs.verify(first.key, tiny_split, smoke) == [f"epoch 1 val_accuracy: stored 0.0, now {trained!r}"]


def test_jobs_run_each_key_as_its_own_process_with_its_share_of_the_cores(monkeypatch):
    calls = []
    monkeypatch.setattr(runs.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(runs.subprocess, "call", lambda command, env: calls.append((command, env)) or 0)
    assert runs.run_jobs(["k1", "k2", "k3"], jobs=2) == 0
    assert sorted(command[-1] for command, _ in calls) == ["k1", "k2", "k3"]
    for command, env in calls:
        assert command[1:4] == ["-m", "fer_helpers.runstore.runs", "--key"]
        assert env["TF_NUM_INTRAOP_THREADS"] == env["OMP_NUM_THREADS"] == "4"
    monkeypatch.setattr(runs.subprocess, "call", lambda command, env: 1 if command[-1] == "k2" else 0)
    assert runs.run_jobs(["k1", "k2"], jobs=2) == 1  # a failed job fails the whole command
    calls.clear()
    monkeypatch.setattr(runs.subprocess, "call", lambda command, env: calls.append((command, env)) or 0)
    clock = iter([0.0, 0.0, 3600.0])  # the deadline is set; k1 starts at once, k2's turn comes an hour later
    monkeypatch.setattr(runs.time, "monotonic", lambda: next(clock))
    assert runs.run_jobs(["k1", "k2"], jobs=1, hours=1.0) == 0
    assert [command[-3:] for command, _ in calls] == [["k1", "--hours", "1.0000"]]


def test_one_keys_job_with_hours_stops_its_run_at_the_deadline(book, tiny_split, monkeypatch):
    p = plan.plan(None, tiny_split, book)[0]
    monkeypatch.setattr(runs.config, "get_profile", lambda name: book)
    monkeypatch.setattr(runs.data, "load_split", lambda profile: tiny_split)
    monkeypatch.setattr(runs.time, "monotonic", lambda: 100.0)
    deadlines = []
    monkeypatch.setattr(runs, "train_or_park", lambda p, split, profile, deadline: deadlines.append((p.key, deadline)))
    assert runs.main(["--key", p.key, "--hours", "0.5"]) == 0 and runs.main(["--key", p.key]) == 0
    assert deadlines == [(p.key, 1900.0), (p.key, None)]


def test_a_run_records_the_gpu_it_trained_on(monkeypatch):
    import tensorflow as tf

    assert runs.device() == "CPU" or runs.device().startswith("GPU: ")
    gpu = tf.config.PhysicalDevice(name="/physical_device:GPU:0", device_type="GPU")
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: [gpu])
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda gpu: {"device_name": "NVIDIA H100"})
    assert runs.device() == "GPU: NVIDIA H100"


def test_a_claims_record_counts_only_when_judged_from_the_runs_declared_now_all_stored(book, tiny_split, monkeypatch):
    planned = plan.plan(None, tiny_split, book)
    keys = {arm.label: [p.key for p in planned if p.arm.name == arm.name] for arm in ARMS}
    judged = {"tiny": {"claim_id": "tiny", "runs": keys}}
    assert plan.current_records(judged, tiny_split, book) == {}  # its runs are not stored
    monkeypatch.setattr(plan.store, "find", lambda key, profile: True)
    assert plan.current_records(judged, tiny_split, book) == judged
    replaced = {**keys, ARMS[0].label: ["an earlier run", *keys[ARMS[0].label][1:]]}
    assert plan.current_records({"tiny": {"claim_id": "tiny", "runs": replaced}}, tiny_split, book) == {}
    assert plan.current_records({"tiny": {"claim_id": "tiny"}}, tiny_split, book) == {}  # names no runs
