"""fer_helpers: the tested code behind the FER-2013 analysis book's notebooks.

One folder per stage of the pipeline, each importing only from those before it: `dataset` (FER-2013 read, split
and described), `modelling` (models, training, inference, metrics), `analysis` (intervals, verdicts, heat maps,
figures), `cleaning` (denoised and outlier-free training sets), `runstore` (the run store and `make runs`), and
`book` (the book's machinery). Beside them: `config`, `chapters` and `specs` (what the book declares, and its
shapes), `machine`, `results` and `quiet` (what every stage uses), and `predict` with `faces` (classify the faces in
photos).
"""

__version__ = "0.1.0"
