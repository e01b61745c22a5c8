"""`make runs`: train the book's missing runs into the run store (`fer_helpers.runstore.store`), one at a time.

    python -m fer_helpers.runstore.runs --plan [NOTEBOOK ...]     missing runs: PFLOP and hours at this machine's rate
    python -m fer_helpers.runstore.runs [--hours H] [NOTEBOOK ...]  train the missing runs (for H hours: `plan.fitting`)
    python -m fer_helpers.runstore.runs --key KEY [--hours H]       one run: the command a scheduler's job runs
    python -m fer_helpers.runstore.runs --verify KEY [--epochs N]   train a stored run again and compare

Runs are planned chapter by chapter, each chapter's arms and then the doubled-budget checks its claims need
(`plan.doubled_needed`), so that a chapter's runs are complete before the next chapter's begin; the plan is made
again after every run, so that the checks and the arms chosen on validation follow the runs they need. A run that is
cut off resumes from its backup (kept in runs/.backup/, copied to runs/parked/ and, in the full profile, to
`store.MIRROR` outside the work tree). With `--hours`, the run that the time left cannot finish stops at its
deadline with its backup in runs/parked/<key>: committed, it resumes in a later session on any machine. `--jobs N`
trains N runs at once, each a `--key` process with its share of the cores and the hours left when it starts.
Chapters read their runs with `chapter_runs`: in the full profile a missing run stops the chapter with the command
that trains it; the smoke profile trains its tiny runs inline.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import numpy as np

from .. import config
from ..quiet import quiet_tensorflow

quiet_tensorflow()  # before anything loads TensorFlow: no C++ log lines in a run's log
# every import at the start: a module loaded halfway through a long `make runs` would be the edited one

from ..book import runtimes  # noqa: E402
from ..cleaning import variants  # noqa: E402
from ..dataset import data, eda  # noqa: E402
from ..machine import cpu_info, describe, git_commit, load_average, tensorflow_threads  # noqa: E402
from ..modelling import flops, inference, metrics, training  # noqa: E402
from . import plan, registry, store  # noqa: E402
from .plan import Planned  # noqa: E402

VERIFY_TOLERANCE = 0.02  # across instruction sets: each compared epoch's validation accuracy within ±2 points
# the code this process trains with, read as it loads: what a run's record names, even when a file is edited (or a
# commit made) while a long `make runs` goes on
LOADED = {"code_digest": store.code_digest(), "git_commit": git_commit()}


def device() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return (
        f"GPU: {tf.config.experimental.get_device_details(gpus[0]).get('device_name', gpus[0].name)}" if gpus else "CPU"
    )


def train(
    p: Planned,
    split,
    profile: config.Profile,
    stop_after: int | None = None,
    scratch: bool = False,
    deadline: float | None = None,
):
    """Train one planned run; put it into the store (or, with `scratch`, return (record, probabilities)). With a
    `deadline` (`time.monotonic()`), it may stop part way (`training.OutOfTime`), its backup parked."""
    arm_split, train_images = variants.load(p.arm.data, split, profile)
    training.set_seed(p.seed)
    model = registry.entry(p.arm.model).build(train_images.x(), **dict(p.arm.changes))
    weights = eda.class_weights(train_images.labels) if p.arm.class_weights else None
    backup = store.backup_folder(p.key, profile)
    copies = () if scratch else store.backup_copies(p.key, profile)
    if scratch:
        backup = backup.with_name(f"verify-{p.key}")
    load = load_average()
    fitted = training.train(
        model,
        arm_split,
        p.key,
        profile,
        p.arm.recipe_in(profile),
        train=train_images,
        seed=p.seed,
        save=False,
        class_weight=weights,
        backup=backup,
        copies=copies,
        log=False,
        stop_after=stop_after,
        deadline=deadline,
    )
    options = inference.tta_options(fitted.model)  # a model that looks at a window has the window views too
    probabilities = {
        part if name == "plain" else f"{part}_{name}": inference.predict(
            fitted.model, getattr(arm_split, part).x(), *views
        ).astype(np.float16)
        for part in ("val", "test")
        for name, views in options.items()
    }
    test = metrics.metrics(probabilities["test"].astype(np.float32), arm_split.test)
    forward = flops.forward(fitted.model)
    record = {
        "arm": p.arm.name,
        "label": p.arm.label,
        "seed": p.seed,
        "profile": profile.name,
        "spec": store.spec(p.arm, p.seed, profile, variants.key(p.arm.data, split, profile)),
        "recipe": p.arm.recipe_in(profile).describe(),
        "code_digest": LOADED["code_digest"],
        "history": fitted.history,
        "epochs": fitted.epochs,
        "kept_epoch": fitted.best_epoch,
        "metrics": {
            "val_accuracy": float(np.mean(probabilities["val"].argmax(1) == arm_split.val.labels)),
            "test_accuracy": test["accuracy"],
            "PrivateTest": test["parts"].get("PrivateTest", {}).get("accuracy"),
            "PublicTest": test["parts"].get("PublicTest", {}).get("accuracy"),
            "leak_free_accuracy": test.get("leak_free", {}).get("accuracy"),
            "macro_f1": test["macro_f1"],
        },
        "cost": {
            "params": fitted.model.count_params(),
            "forward_flops": forward,
            "training_flops": flops.training(forward, len(train_images), len(arm_split.val), fitted.epochs),
            "train_images": len(train_images),
        },
        "machine": {
            "machine": describe(),
            "cpu": cpu_info(),
            "device": device(),
            "tf_threads": tensorflow_threads(),
            "load": {"start": load, "end": load_average()},
            "train_seconds": fitted.wall_seconds,
            "epoch_seconds": fitted.epoch_seconds,
            "resumed_at": fitted.resumed_at,
            "sessions": fitted.sessions,
            "git_commit": LOADED["git_commit"],
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "images": {"val": store.images_digest(arm_split.val), "test": store.images_digest(arm_split.test)},
    }
    if scratch:
        return record, probabilities
    kept = fitted.model if p.keeps() else None  # the first `keep` seeds of an arm keep their weights
    return store.write(p.key, profile, record, probabilities, kept)


def chapter_runs(stem: str, split, profile: config.Profile) -> dict[str, list[store.StoredRun]]:
    """{arm: its stored runs, one per seed} of chapter `stem`, with the doubled-budget checks its claims need. A
    missing run stops the full profile with the command that trains it; the smoke profile trains it here."""
    planned = plan.plan([stem], split, profile)
    missing = [p for p in planned if not store.find(p.key, profile)]
    if missing and profile.subset_fraction is None:
        names = ", ".join(f"{p.arm.name} seed {p.seed} ({p.key})" for p in missing)
        raise store.MissingRuns(
            f"{stem} needs {len(missing)} run(s) not in the store: {names}. Train them: make runs NB={stem}"
        )
    for p in missing:
        train(p, split, profile)
    if missing:  # the claims judged on the new runs may need their doubled-budget checks now
        return chapter_runs(stem, split, profile)
    runs = {}
    for p in planned:
        for name in (p.arm.name, *p.also):  # a run two arms share counts for both
            runs.setdefault(name, []).append(store.find(p.key, profile))
    return runs


def verify(key: str, split, profile: config.Profile, epochs: int | None = None) -> list[str]:
    """Train stored run `key` again (its first `epochs` epochs, default all) and compare: the mismatches, none
    when it agrees. On the instruction sets it was made with, every compared number must be equal; elsewhere
    each compared epoch's validation accuracy within `VERIFY_TOLERANCE`."""
    found = store.find(key, profile)
    if not found:
        raise KeyError(f"no run {key} in {store.folder(profile)}")
    p = next((p for p in plan.plan(None, split, profile) if p.key == key), None)
    if p is None:
        raise KeyError(f"run {key} is in the store but no chapter declares it (a replaced run?)")
    n = min(epochs or found.record["epochs"], found.record["epochs"])
    record, probabilities = train(p, split, profile, stop_after=n, scratch=True)
    exact = all(cpu_info()["flags"] == made["cpu"]["flags"] for made in store.sessions(found.record))
    mismatches = []
    for metric, values in found.history.items():
        for epoch, (old, new) in enumerate(zip(values[:n], record["history"][metric], strict=True), start=1):
            off = old != new if exact or metric != "val_accuracy" else abs(old - new) > VERIFY_TOLERANCE
            if off and (exact or metric == "val_accuracy"):
                mismatches.append(f"epoch {epoch} {metric}: stored {old!r}, now {new!r}")
    if exact and n == found.record["epochs"]:
        for part, values in found.probabilities.items():
            if not np.array_equal(values, probabilities[part].astype(np.float32)):
                mismatches.append(f"{part} probabilities differ")
    if not mismatches and exact:
        verified = sorted({*found.record.get("code_verified", []), LOADED["code_digest"]})
        store.update_record(found, code_verified=verified)
    return mismatches


def refused_choices(planned: list, waits: dict, split, profile: config.Profile) -> dict[str, list[str]]:
    """{key: the arms that chose otherwise} of the missing runs of each arm validation chooses, its choice all in
    (`plan.waiting`), whose declaration is not what validation chose (`levers.check_choice`): trained, they would be
    in vain. Each is printed with the edit to make."""
    from ..analysis import levers
    from . import experiments

    missing = [p for p in planned if p.key not in waits and not store.find(p.key, profile)]
    held = {}
    for arm in {p.arm.name: p.arm for p in missing if p.arm.chosen_by}.values():
        found = {n: [store.find(p.key, profile) for p in planned if n in (p.arm.name, *p.also)] for n in arm.chosen_by}
        try:
            levers.check_choice(arm, experiments.from_store(found, split), split.val)
        except ValueError as error:
            print(f"{arm.name}: not trained: {error}", flush=True)
            held |= {p.key: list(arm.chosen_by) for p in missing if p.arm.name == arm.name}
    return held


def trainable(planned: list[Planned], split, profile: config.Profile) -> list[Planned]:
    """The missing runs of `planned` that may train now, in plan order: not those that wait for the runs validation
    chooses them from (`plan.waiting`), nor, in the full profile, those whose declaration is not what validation
    chose (`refused_choices`). Each waiting arm is printed once."""
    waits = plan.waiting(planned, profile)
    for name, deciding in {p.arm.name: waits[p.key] for p in planned if p.key in waits}.items():
        print(f"{name}: waits until validation has chosen its settings ({', '.join(deciding)} not all in)", flush=True)
    if profile.name == "full":  # the smoke profile's tiny runs choose at random
        waits |= refused_choices(planned, waits, split, profile)
    return [p for p in planned if not store.find(p.key, profile) and p.key not in waits]


def selected(planned: list[Planned], split, profile: config.Profile, hours: float | None):
    """The missing runs of `planned` that may train now (`trainable`), and those of them that fit in `hours` at this
    machine's rates (`plan.fitting`)."""
    missing = trainable(planned, split, profile)
    return missing, plan.fitting(missing, plan.rates_here(split, profile), hours)


def deadline_in(hours: float | None) -> float | None:
    """The `time.monotonic()` that is `hours` from now (None without hours): the deadline `train` stops at."""
    return time.monotonic() + hours * 3600 if hours else None


def train_or_park(p: Planned, split, profile: config.Profile, deadline: float | None):
    """`train` `p` until the `deadline` (`time.monotonic()`, None: none) and return the stored run; where it stops
    at the deadline, print the parked folder to commit and return None."""
    try:
        return train(p, split, profile, deadline=deadline)
    except training.OutOfTime as stop:
        parked = store.parked_folder(p.key, profile)
        size = sum(f.stat().st_size for f in parked.iterdir()) / 2**20
        where = parked.relative_to(profile.output_root)
        print(f"{stop}. Commit {where} ({size:.1f} MiB): `make runs` resumes it on any machine", flush=True)
        return None


def train_missing(stems, split, profile: config.Profile, hours: float | None = None) -> list[Planned]:
    """Train the missing runs of `stems` one at a time and return them, planning again after each run: the
    doubled-budget checks a chapter's claims turn out to need and the arms chosen on validation join the plan as
    the runs they wait for land. With `hours`, the runs `plan.fitting` picks, the last of them stopped at the
    deadline if it runs over, its backup parked (returned too)."""
    deadline = deadline_in(hours)
    trained = []
    while True:
        left = max(0.0, deadline - time.monotonic()) / 3600 if deadline else None
        missing, todo = selected(plan.plan(stems, split, profile), split, profile, left)
        print(f"{len(todo)} run(s) to train, {sum(p.flops for p in todo) / 1e15:.2f} PFLOP", flush=True)
        if not todo:
            if missing:
                print(f"{len(missing)} run(s) left: none fits in the {left:.2f} h left", flush=True)
            return trained
        p, start = todo[0], time.monotonic()
        trained.append(p)
        if not (stored := train_or_park(p, split, profile, deadline)):
            return trained
        if profile.name == "full" and profile.output_root == config.ROOT:
            runtimes.update_readme(store=True)  # the README's table of what the store holds
        print(
            f"[{len(trained)}] {p.arm.name} seed {p.seed}: {p.key} stored in {time.monotonic() - start:.0f} s, "
            f"val {stored.record['metrics']['val_accuracy']:.4f}",
            flush=True,
        )


def run_jobs(keys: list[str], jobs: int, hours: float | None = None) -> int:
    """Each key as its own `--key` process, `jobs` at once, each with its share of the cores; with `hours`, each
    given the time left when it starts (a key whose turn comes after the deadline is not started)."""
    threads = max(1, (os.cpu_count() or 1) // jobs)
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, "-m", "fer_helpers.runstore.runs", "--key"]
    deadline = deadline_in(hours)

    def job(key: str) -> int:
        if deadline is None:
            return subprocess.call([*command, key], env=env)
        left = (deadline - time.monotonic()) / 3600
        return subprocess.call([*command, key, "--hours", f"{left:.4f}"], env=env) if left > 0 else 0

    with ThreadPoolExecutor(jobs) as pool:
        codes = list(pool.map(job, keys))
    return max(codes, default=0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_helpers.runstore.runs", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="chapter stems (default: every chapter)")
    parser.add_argument("--plan", action="store_true", help="list the runs and what the missing ones cost")
    parser.add_argument("--hours", type=float, help="train what fits in this many hours (--key: stop then)")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once (each a process)")
    parser.add_argument("--key", help="train this one run")
    parser.add_argument("--verify", metavar="KEY", help="train a stored run again and compare")
    parser.add_argument("--epochs", type=int, help="with --verify: compare only the first N epochs")
    parser.add_argument("--profile", default=None, help="full (default) or smoke")
    args = parser.parse_args(argv)
    profile = config.get_profile(args.profile)
    split = data.load_split(profile)
    if args.verify:
        mismatches = verify(args.verify, split, profile, args.epochs)
        print("\n".join(mismatches) or f"run {args.verify}: the same numbers")
        return 1 if mismatches else 0
    if not (args.key or args.plan or args.jobs > 1):
        train_missing(args.notebooks, split, profile, args.hours)
        return 0
    planned = plan.plan(args.notebooks, split, profile)
    if args.key:
        chosen = [p for p in planned if p.key == args.key]
        if not chosen:
            parser.error(f"no planned run has the key {args.key}")
        train_or_park(chosen[0], split, profile, deadline_in(args.hours))
    elif args.plan:
        print(plan.describe(planned, profile, plan.rates_here(split, profile), args.hours))
    else:
        _, todo = selected(planned, split, profile, args.hours)
        return run_jobs([p.key for p in todo], args.jobs, args.hours)
    return 0


if __name__ == "__main__":
    sys.exit(main())
