"""specs: arms, claims and chapters are checked as they are made; an arm's budget, recipe and doubled check."""

import pytest

from fer_helpers import config, specs

ARM = specs.Arm("a", "arm A", "vgg_cnn", config.PROTOCOL, "treatment")


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"kind": "level", "arms": ("a", "b"), "level": 0.5}, "kind 'level' with 2 arm"),
        ({"kind": "difference", "arms": ("a", "b"), "level": 0.5}, "a level claim needs a level"),
        ({"kind": "equivalence", "arms": ("a", "b")}, "an equivalence claim a margin"),
        ({"kind": "difference", "arms": ("a", "b"), "metric": "loss"}, "metric 'loss'"),
    ],
)
def test_malformed_claims_are_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        specs.ClaimSpec("x", "text", **fields)


def test_an_unknown_data_variant_or_no_seed_is_refused():
    with pytest.raises(ValueError, match="data 'blurred'"):
        specs.Arm("a", "A", "vgg_cnn", config.PROTOCOL, "treatment", data="blurred")
    with pytest.raises(ValueError, match="at least one seed"):
        specs.Arm("a", "A", "vgg_cnn", config.PROTOCOL, "treatment", seeds=())


def test_an_arm_takes_its_epochs_from_the_profile_and_its_doubled_check_twice_them_on_one_seed():
    full = config.PROFILES["full"]
    assert ARM.recipe_in(full).epochs == full.budget("treatment") == ARM.epochs(full)
    doubled = ARM.doubled()
    assert doubled.name == "a" + specs.DOUBLED and doubled.seeds == config.SEEDS[:1] and doubled.keep == 0
    assert doubled.epochs(full) == 2 * ARM.epochs(full) and doubled.doubled().epochs(full) == 4 * ARM.epochs(full)
