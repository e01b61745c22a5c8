"""The plan of the book's runs: every run the chapters declare, its key, its cost in FLOPs, and the hours it takes
at this machine's rate.

    planned = plan.plan(["06_unet"], split, profile)   # stored or not, in chapter order
    print(plan.describe(planned, profile, plan.rates_here(split, profile)))

Chapter by chapter: a chapter's arms, then the doubled-budget checks of its claims (`specs.Arm.doubled`), so that
one chapter's runs are complete before the next chapter's begin. A check is planned only for a claim whose word more
training could change (`claims.CHANGEABLE`), judged from the claim's stored runs; a claim whose runs are not all in
yet gets its checks planned once they are (`runs.train_missing` plans again after every run).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from .. import chapters, config, specs
from ..specs import Arm
from . import store


@dataclass(frozen=True)
class Planned:
    arm: Arm
    seed: int
    key: str
    flops: int  # training FLOPs: steps and validation passes of every epoch
    model: tuple  # (builder, options as JSON): runs of one model train at one rate
    epochs: int  # its budget
    also: tuple = ()  # the other arms whose run this is (identical arms share their runs)
    done: int = 0  # the epochs a backup of it holds (`store.epochs_done`): a run parked part way resumes there

    def keeps(self) -> bool:
        """Whether the run stores its weights: an arm that trains it (or shares it) keeps this seed's."""
        arms = [self.arm, *(chapters.arm(name) for name in self.also)]
        return any(self.seed in a.seeds[: a.keep] for a in arms)

    def seconds(self, rates: dict) -> float:
        """The time its epochs still to train take at this machine's rate for its model, else for its network, else
        over all models."""
        return (self.epochs - self.done) * self.epoch_seconds(rates)

    def epoch_seconds(self, rates: dict) -> float:
        return self.flops / self.epochs / rates.get(self.model, rates.get(self.model[0], rates[None]))


def check_stems(stems) -> list[str]:
    stems = stems or list(chapters.CHAPTERS)
    unknown = [s for s in stems if s not in chapters.CHAPTERS]
    if unknown:
        raise ValueError(f"no chapter {unknown}; the chapters: {', '.join(chapters.CHAPTERS)}")
    return stems


def planned(arms: list[Arm], split, profile: config.Profile) -> list[Planned]:
    """The runs of `arms` (stored or not), with their keys and costs; a run two arms share is listed once, under the
    first, with the others in `also`."""
    from ..cleaning import variants
    from ..modelling import flops
    from . import registry

    data_keys, n_train, forward, runs = {}, {}, {}, {}
    for a in arms:
        if a.data not in data_keys:
            data_keys[a.data] = variants.key(a.data, split, profile)
            n_train[a.data] = (
                len(variants.load(a.data, split, profile)[1])
                if a.data != "denoised"
                else len(split.train.without(_outliers(profile)))
            )
        model = (a.model, a.changes)
        if model not in forward:
            forward[model] = flops.forward(registry.entry(a.model).build(split.train.x()[:64], **dict(a.changes)))
        cost = flops.training(forward[model], n_train[a.data], len(split.val), a.epochs(profile))
        for seed in a.seeds:
            run_spec = store.spec(a, seed, profile, data_keys[a.data])
            identity = (run_spec["builder"], json.dumps(run_spec["options"], sort_keys=True))
            key = store.key_of(run_spec)
            found = runs.get(key)
            if found:
                runs[key] = replace(found, also=(*found.also, a.name))
            else:
                done = 0 if store.find(key, profile) else store.epochs_done(key, profile)
                runs[key] = Planned(a, seed, key, cost, identity, a.epochs(profile), done=done)
    return list(runs.values())


def doubled_needed(stems, base: list[Planned], split, profile: config.Profile) -> tuple[list[Arm], list[str]]:
    """(the doubled-budget arms the claims of `stems` need, the claims whose check waits for their runs): a claim
    needs its check when its runs are all stored and its word is one more training could change."""
    from ..analysis import claims
    from . import experiments

    by_arm = {}
    for p in base:
        for name in (p.arm.name, *p.also):
            by_arm.setdefault(name, []).append(p)
    needed, waiting = {}, []
    for spec in (c for stem in stems for c in chapters.CHAPTERS[stem].claims):
        found = {name: [store.find(p.key, profile) for p in by_arm.get(name, [])] for name in spec.arms}
        if not all(found.values()) or not all(all(runs) for runs in found.values()):
            waiting.append(spec.id)
            continue
        record = claims.judge(spec, experiments.from_store(found, split), split.test)
        if record["verdict"] in claims.CHANGEABLE:
            needed |= {name: chapters.arm(name).doubled() for name in spec.arms}
    return list(needed.values()), waiting


def plan(stems, split, profile: config.Profile) -> list[Planned]:
    """Every run of `stems` (default: every chapter), stored or not: chapter by chapter, its arms and then the
    doubled-budget checks its claims need (module doc)."""
    stems = check_stems(stems)
    arms = list({a.name: a for s in stems for a in chapters.CHAPTERS[s].arms}.values())
    base = planned(arms, split, profile)
    doubled = {stem: doubled_needed([stem], base, split, profile)[0] for stem in stems}
    checks = planned(list({a.name: a for d in doubled.values() for a in d}.values()), split, profile)
    ordered = {}
    for stem in stems:
        names = {a.name for a in chapters.CHAPTERS[stem].arms}
        doubled_names = {a.name for a in doubled[stem]}
        for p in [p for p in base if names & {p.arm.name, *p.also}] + [
            p for p in checks if doubled_names & {p.arm.name, *p.also}
        ]:
            ordered.setdefault(p.key, p)
    return list(ordered.values())


def current_records(records: dict, split, profile: config.Profile) -> dict:
    """The records ({claim id: record}) judged from the runs the book declares now for their claims' arms, all of
    them stored. A record from runs since replaced, or from before records named their runs, is left out: its
    claim waits for its chapter to run again."""
    arms = {name: chapters.arm(name) for claim_id in records for name in chapters.claim(claim_id).arms}
    keys = {}  # {arm label: its runs' keys}, the arms planned once for all the records
    for p in planned(list(arms.values()), split, profile):
        for name in (p.arm.name, *p.also):
            keys.setdefault(arms[name].label, []).append(p.key)
    stored = {key for found in keys.values() for key in found if store.find(key, profile)}
    current = {}
    for claim_id, record in records.items():
        labels = [arms[name].label for name in chapters.claim(claim_id).arms]
        declared = {label: sorted(keys[label]) for label in labels}
        judged = {label: sorted(found) for label, found in record.get("runs", {}).items()}
        if judged == declared and all(key in stored for found in declared.values() for key in found):
            current[claim_id] = record
    return current


def waiting(planned: list[Planned], profile: config.Profile) -> dict[str, list[str]]:
    """{key: the arms it waits for} of each missing run whose settings validation chooses among other arms' runs
    (`specs.Arm.chosen_by`) while some of those are missing: trained before them, it could be trained in vain. A
    run that one of the choosing arms shares (a candidate's own seed) does not wait."""
    missing = [p for p in planned if not store.find(p.key, profile)]
    unfinished = {name for p in missing for name in (p.arm.name, *p.also)}
    waits = {}
    for p in missing:
        arms = [p.arm, *map(chapters.arm, p.also)]
        if all(a.chosen_by for a in arms) and (deciding := sorted({d for a in arms for d in a.chosen_by} & unfinished)):
            waits[p.key] = deciding
    return waits


def _outliers(profile):
    from ..cleaning import outliers

    return outliers.load_outlier_keys(profile)


def machine_rates(profile: config.Profile) -> dict:
    """FLOP/s this machine's kind of CPU (`machine.cpu_label`) delivered in the store's runs: per model
    ({(builder, options): rate}), per network (builder) and over all models (key None); empty before the first run
    made on such a CPU. A model or network trained only on other kinds gets its rate there, scaled by how this kind
    compares with that one on the networks both have trained."""
    from ..machine import cpu_info, cpu_label

    work, seconds = {}, {}  # per (CPU label, model, builder or None for all)
    for run in store.stored(profile):
        record, spec = run.record, run.record["spec"]
        model = (spec["builder"], json.dumps(spec["options"], sort_keys=True))
        for session in store.sessions(record):  # a run resumed on other CPUs counts each session's epochs there
            label = cpu_label(session["cpu"])
            for key in ((label, model), (label, spec["builder"]), (label, None)):
                work[key] = work.get(key, 0) + record["cost"]["training_flops"] * session["epochs"] / record["epochs"]
                seconds[key] = seconds.get(key, 0) + session["seconds"]
    rate = {key: work[key] / seconds[key] for key in work if seconds[key]}
    here = cpu_label(cpu_info())
    rates = {model: r for (label, model), r in rate.items() if label == here}
    builders = {b for b in rates if isinstance(b, str)}
    for (label, model), r in rate.items():  # models and networks trained only on other kinds of CPU
        shared = [b for other, b in rate if other == label and b in builders]
        if model is not None and model not in rates and shared:
            ratio = [sum(work[cpu, b] for b in shared) / sum(seconds[cpu, b] for b in shared) for cpu in (here, label)]
            rates[model] = r * ratio[0] / ratio[1]
    return rates


def measured_rate(split, profile: config.Profile) -> float:
    """FLOP/s of this machine timed on a few training steps of the small VGG-style CNN (before any run is stored)."""
    from ..modelling import flops, training
    from . import registry

    model = registry.entry("vgg_cnn_small").build(split.train.x())
    per_epoch = training.seconds_per_epoch(model, split, config.PROTOCOL, steps=10)
    work = flops.training(flops.forward(model), len(split.train), len(split.val), 1)
    return work / per_epoch["seconds_per_epoch"]


def rates_here(split, profile: config.Profile) -> dict:
    """`machine_rates`, with the rate over all models timed on a few steps (`measured_rate`) before any run is
    stored from this machine."""
    rates = machine_rates(profile)
    if None not in rates:
        rates[None] = measured_rate(split, profile)
    return rates


def describe(planned: list[Planned], profile: config.Profile, rates: dict, hours: float | None = None) -> str:
    """The plan as a table: arm, seed, epochs, PFLOP, hours at this machine's `rates`, stored or missing; then one
    line per chapter (`by_chapter`) and the load average the estimate assumes away."""
    from ..machine import load_average

    lines = [f"{'arm':28} {'seed':>4} {'epochs':>6} {'PFLOP':>7} {'hours':>6}  run"]
    missing, waits = [p for p in planned if not store.find(p.key, profile)], waiting(planned, profile)
    for p in planned:
        state = ("waits for its choice" if p.key in waits else "missing") if p in missing else "stored"
        state += f", {p.done} of {p.epochs} epochs in a backup" if p.done and p in missing else ""
        hours_here = p.seconds(rates) / 3600
        line = f"{p.arm.name:28} {p.seed:>4} {p.arm.epochs(profile):>6} {p.flops / 1e15:7.3f} {hours_here:6.2f}"
        lines.append(f"{line}  {p.key} {state}")
    total, estimate = sum(p.flops for p in missing), sum(p.seconds(rates) for p in missing) / 3600
    lines.append(
        f"\n{len(missing)} of {len(planned)} runs missing: {total / 1e15:.2f} PFLOP, {estimate:.1f} h on this machine "
        f"({rates[None] / 1e9:.0f} GFLOP/s over all models; per model where it has trained on this kind of CPU, "
        "else scaled from another kind)\n"
    )
    lines += by_chapter(planned, profile, rates, hours)
    lines.append(
        f"\nload average now {load_average()[0]:.2f} (1 min): the estimate is for a machine doing nothing else"
    )
    return "\n".join(lines)


def chapter_of(arm: Arm) -> str:
    """The first chapter that declares `arm` (or, for a doubled-budget check, its arm)."""
    name = arm.name.removesuffix(specs.DOUBLED)
    return next(stem for stem, chapter in chapters.CHAPTERS.items() if any(a.name == name for a in chapter.arms))


def by_chapter(planned: list[Planned], profile: config.Profile, rates: dict, hours: float | None = None) -> list[str]:
    """One line per chapter: its stored runs with the hours they took as recorded and the machines they ran on, its
    missing runs with their PFLOP and the hours estimated here, and, with `hours`, whether they fit "within" what
    is left of that cap, taking the chapters in plan order, or go "over" it."""
    from ..machine import cpu_label, duration

    groups: dict[str, list[Planned]] = {}
    for p in planned:
        groups.setdefault(chapter_of(p.arm), []).append(p)
    lines = [f"{'chapter':18} {'stored':>6} {'recorded':>12}  {'machines':28} {'missing':>7} {'PFLOP':>6} {'here':>11}"]
    left = None if hours is None else hours * 3600
    for stem, runs in groups.items():
        stored = {p.key: store.find(p.key, profile) for p in runs}  # one look each
        found = [run for run in stored.values() if run]
        todo = [p for p in runs if not stored[p.key]]
        recorded = sum(run.wall_seconds for run in found)
        machines = sorted({cpu_label(run.record["machine"]["cpu"]) for run in found}) or ["-"]
        seconds = sum(p.seconds(rates) for p in todo)
        line = (
            f"{stem:18} {len(found):>6} {duration(recorded) if found else '-':>12}  {'; '.join(machines):28} "
            f"{len(todo):>7} {sum(p.flops for p in todo) / 1e15:6.2f} {duration(seconds) if todo else '-':>11}"
        )
        if left is not None and todo:
            line += "  within" if seconds <= left else "  over"
            left = max(left - seconds, 0)
        lines.append(line)
    return lines


def fitting(missing: list[Planned], rates: dict, hours: float | None) -> list[Planned]:
    """The missing runs to train in `hours` at this machine's `rates`, in plan order: those that fit, then the first
    that does not, if an epoch of it fits (it trains to the deadline, and its backup is parked to go on later)."""
    if hours is None:
        return missing
    left, chosen = hours * 3600, []
    for p in missing:
        if p.seconds(rates) > left:
            return chosen + [p] if p.epoch_seconds(rates) <= left else chosen
        chosen.append(p)
        left -= p.seconds(rates)
    return chosen
