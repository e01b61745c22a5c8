"""The project's one TensorFlow silencer: no start-up lines, C++ logs or Keras chatter on a page.

`quiet_tensorflow()` once, before TensorFlow is imported (chapters: `book.notebook.setup` calls it);
`with quiet():` around Keras calls that print progress bars or warn about input structures.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

# C++ logs: 3 keeps only fatal ones. TF_ENABLE_ONEDNN_OPTS is left alone: it changes the numbers.
TF_LOG_LEVEL = "3"


@contextlib.contextmanager
def stderr_discarded():
    """File descriptor 2 sent to /dev/null: also silences what C++ libraries print while they load."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def quiet_tensorflow() -> None:
    """Silence TensorFlow for this process; call it before anything imports TensorFlow.

    C++ logs (`E0000 ... node_def_util.cc ...`) stop at TF_CPP_MIN_LOG_LEVEL=3 (an explicit setting in
    the environment wins); the lines printed while TensorFlow's libraries load ("All log messages before
    absl::InitializeLog()", "oneDNN custom operations are on") ignore it, so that import runs with stderr
    discarded; Python-side absl and TensorFlow loggers keep errors only.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", TF_LOG_LEVEL)
    if "tensorflow" not in sys.modules:
        with stderr_discarded():
            import tensorflow  # noqa: F401
    import absl.logging
    import tensorflow as tf

    absl.logging.set_verbosity(absl.logging.ERROR)
    tf.get_logger().setLevel("ERROR")


@contextlib.contextmanager
def quiet():
    """Keras without its chatter inside the block: no progress bars, retracing notes or input warnings."""
    quiet_tensorflow()
    import keras

    interactive = keras.config.is_interactive_logging_enabled()
    keras.config.disable_interactive_logging()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The structure of `inputs`")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        try:
            yield
        finally:
            if interactive:
                keras.config.enable_interactive_logging()
