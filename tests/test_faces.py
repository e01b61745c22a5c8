"""Faces as the classifiers see them: square crops with a margin, the border repeated, scaled to [0, 1]; bad files."""

import numpy as np
import pytest

from fer_helpers import faces


def test_preprocessing_square_margin_crop():
    grey = np.arange(100 * 120, dtype=np.uint32).reshape(100, 120).astype(np.uint8)
    crop = faces.crop_face(grey, [40, 30, 20, 30])  # 30 high -> 36 square with the 10 % margin
    assert crop.shape == (36, 36)
    assert np.array_equal(crop, grey[27:63, 32:68])
    edge = faces.crop_face(grey, [0, 0, 20, 20])  # runs off the image: border repeated, still square
    assert edge.shape == (24, 24) and np.array_equal(edge[2:, 2:], grey[:22, :22])
    x = faces.to_model_input([crop, np.full((48, 48), 255, np.uint8)])
    assert x.shape == (2, 48, 48, 1) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() == 1.0


def test_an_unreadable_file_is_an_input_error_naming_it(tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    with pytest.raises(faces.InputError, match=f"{text}: not an image OpenCV can read"):
        faces.read_image(text)
    with pytest.raises(faces.InputError, match="file not found"):
        faces.read_image(tmp_path / "gone.png")
    with pytest.raises(faces.InputError, match="not a file"):
        faces.read_image(tmp_path)
