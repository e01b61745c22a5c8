"""The TensorFlow silencer: nothing on stderr from TensorFlow's start-up, C++ logs or Keras chatter."""

import os
import subprocess
import sys
import warnings

from fer_helpers import config
from fer_helpers.quiet import quiet

QUIET_IMPORT = """
from fer_helpers.quiet import quiet_tensorflow
quiet_tensorflow()
import tensorflow as tf
tf.get_logger().warning("python-side warning")
try:  # an op failure: TensorFlow's C++ side logs a W-line ("Local rendezvous is aborting") at run time
    tf.raw_ops.Assert(condition=False, data=[tf.constant("deliberate")])
except tf.errors.InvalidArgumentError:
    print("assert raised")
"""


def test_quiet_tensorflow_keeps_stderr_clean():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(config.ROOT)
    result = subprocess.run([sys.executable, "-c", QUIET_IMPORT], capture_output=True, text=True, env=env, timeout=300)
    assert result.stdout.strip() == "assert raised", result.stderr
    assert result.stderr == "", f"TensorFlow wrote to stderr:\n{result.stderr}"


def test_quiet_hides_progress_bars_and_restores_interactive_logging():
    import keras

    keras.config.enable_interactive_logging()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet():
            assert not keras.config.is_interactive_logging_enabled()
            warnings.warn("The structure of `inputs` doesn't match", UserWarning, stacklevel=1)
        warnings.warn("outside the block", UserWarning, stacklevel=1)
    assert keras.config.is_interactive_logging_enabled()
    assert [str(w.message) for w in caught] == ["outside the block"]
