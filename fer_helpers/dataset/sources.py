"""Find FER-2013 and read it from any of the forms users have: the Kaggle folder, the same folder as
a zip (read in place), the original ``fer2013.csv`` (``emotion,pixels,Usage``) or ``icml_face_data.csv``
(``emotion, Usage, pixels``).

Every reader returns the same :class:`Dataset`: uint8 images (N, 48, 48), labels in the alphabetical
class order of :data:`config.CLASSES`, ids and the source part (Training / PublicTest / PrivateTest),
sorted by part then id number. Ids are the Kaggle file names (``<part>_<number>``; ``-<class>`` is
appended to a file name that appears in two class folders) or, for the CSV forms, ``<Usage>_<row>``:
the two forms share no id, only content, so :attr:`Dataset.keys` names every image by its content
(:func:`content_keys`), the same in every form. Bad input raises :class:`DataError` naming the file or
row and what is wrong; nothing is skipped silently.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from .. import config

KAGGLE_HINT = (
    "Get it from Kaggle with\n"
    "    kaggle datasets download -d msambare/fer2013 -p data/\n"
    "(`make data` runs this when Kaggle credentials exist in ~/.kaggle/kaggle.json), "
    f"or point {config.DATA_ENV} at a copy you have (folder, .zip or fer2013.csv)."
)
# Order of the original CSV's `emotion` column -> index in config.CLASSES.
CSV_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
CSV_TO_CLASS = np.array([config.CLASSES.index(name) for name in CSV_LABELS], dtype=np.int8)
SPLIT_DIRS = {"train": ("Training",), "test": ("PublicTest", "PrivateTest")}
CSV_COLUMNS = ("emotion", "pixels", "Usage")
FILE_NAME = re.compile(r"^(Training|PublicTest|PrivateTest)_(\d+)\.jpe?g$", re.IGNORECASE)
PIXELS = config.IMAGE_SIZE * config.IMAGE_SIZE


class DataError(ValueError):
    """The data set is malformed; the message names the file or row and what is wrong."""


class DataNotFound(FileNotFoundError):
    """No data set where we looked; the message lists the places and how to get it."""


@dataclass
class Dataset:
    images: np.ndarray  # uint8 (N, 48, 48)
    labels: np.ndarray  # int8, index into config.CLASSES
    ids: np.ndarray  # str, e.g. "Training_10118481"
    parts: np.ndarray  # str, one of config.PARTS
    kaggle_ids: bool = False  # True when the ids are Kaggle file names (folder or zip), False for CSV row ids

    def __len__(self) -> int:
        return len(self.labels)

    @cached_property
    def keys(self) -> np.ndarray:
        """Content key of every image (:func:`content_keys`): the same in every form of the data."""
        return content_keys(self.images, self.labels, self.parts)

    def sorted(self) -> Dataset:
        """Canonical order: by part (Training, PublicTest, PrivateTest), then by id number."""
        part_rank = np.array([config.PARTS.index(p) for p in self.parts])
        number = np.array([id_number(i) for i in self.ids])
        order = np.lexsort((self.ids, number, part_rank))
        return Dataset(self.images[order], self.labels[order], self.ids[order], self.parts[order], self.kaggle_ids)


def content_keys(images: np.ndarray, labels: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """``<sha1>-<n>`` per image: SHA-1 (16 hex digits) of part, class name and pixel bytes, and n, the
    occurrence among identical (part, class, pixels) images. Identical images are interchangeable, so
    numbering them in any order names the same content: the keys do not depend on the form or its order."""
    seen: dict[str, int] = {}
    keys = []
    for image, label, part in zip(images, labels, parts, strict=False):
        digest = hashlib.sha1(f"{part}|{config.CLASSES[label]}|".encode())
        digest.update(np.ascontiguousarray(image, np.uint8).tobytes())
        base = digest.hexdigest()[:16]
        keys.append(f"{base}-{seen.get(base, 0)}")
        seen[base] = seen.get(base, 0) + 1
    return np.array(keys)


def id_number(image_id: str) -> int:
    """The number in an id such as ``Training_8475486`` or ``Training_8475486-angry``."""
    return int(re.match(r"^[A-Za-z]+_(\d+)", image_id).group(1))


def candidates() -> list[Path]:
    """Where :func:`locate` looks, in order."""
    env = os.environ.get(config.DATA_ENV)
    places = [Path(env).expanduser()] if env else []
    return places + [config.DATA_DIR / "fer2013", config.DATA_DIR / "fer2013.zip", config.DATA_DIR / "fer2013.csv"]


def locate() -> Path:
    """The data set's path: $FER2013_PATH if set (it must exist), else the first of data/fer2013{,.zip,.csv}."""
    env = os.environ.get(config.DATA_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.exists():
            raise DataNotFound(f"{config.DATA_ENV}={env} does not exist.\n{KAGGLE_HINT}")
        return path
    for path in candidates():
        if path.exists():
            return path
    looked = "\n".join(f"    {p}" for p in candidates())
    raise DataNotFound(f"FER-2013 not found. Looked in:\n{looked}\n{KAGGLE_HINT}")


def fingerprint(path: Path) -> str:
    """A short checksum of the source: file contents for a zip/csv, names+sizes+mtimes for a folder."""
    digest = hashlib.sha256()
    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.is_file():
                stat = file.stat()
                digest.update(f"{file.relative_to(path)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    else:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def read(path: Path) -> Dataset:
    """Read the data set at `path` (folder, .zip or .csv)."""
    path = Path(path)
    if not path.exists():
        raise DataNotFound(f"{path} does not exist.\n{KAGGLE_HINT}")
    if path.is_dir():
        return read_folder(path)
    if path.suffix.lower() == ".zip":
        return read_zip(path)
    if path.suffix.lower() == ".csv":
        return read_csv(path)
    raise DataError(f"{path}: not a folder, .zip or .csv; cannot read it as FER-2013")


def decode_jpeg(data: bytes, name: str) -> np.ndarray:
    """Decode one 48x48 grayscale JPEG with OpenCV (the project's only decoder)."""
    if not data.startswith(b"\xff\xd8"):
        raise DataError(f"{name}: not a JPEG file (no JPEG start marker)")
    if not data.rstrip(b"\0").endswith(b"\xff\xd9"):
        raise DataError(f"{name}: truncated JPEG (no end-of-image marker)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise DataError(f"{name}: corrupt JPEG (OpenCV could not decode it)")
    if image.ndim != 2:
        raise DataError(f"{name}: not grayscale ({image.shape[2]} channels)")
    if image.shape != (config.IMAGE_SIZE, config.IMAGE_SIZE):
        raise DataError(f"{name}: image is {image.shape[1]}x{image.shape[0]}, expected 48x48")
    return image


def from_members(members: dict[str, callable], source: Path) -> Dataset:
    """Build a Dataset from `relative path -> reader of bytes` in the Kaggle layout."""
    per_class: dict[tuple[str, str], int] = {}
    images, labels, ids, parts = [], [], [], []
    for rel, read_bytes in members.items():
        pieces = PurePosixPath(rel).parts
        if len(pieces) != 3 or pieces[0] not in SPLIT_DIRS:
            raise DataError(f"{source}/{rel}: unexpected entry; expected train|test/<class>/<part>_<id>.jpg")
        split_dir, class_name, file_name = pieces
        if class_name not in config.CLASSES:
            raise DataError(
                f"{source}/{split_dir}/{class_name}: unknown class folder; expected one of {config.CLASSES}"
            )
        match = FILE_NAME.match(file_name)
        if not match or match.group(1) not in SPLIT_DIRS[split_dir]:
            raise DataError(f"{source}/{rel}: file name is not <part>_<number>.jpg with a part of {split_dir}/")
        images.append(decode_jpeg(read_bytes(), f"{source}/{rel}"))
        labels.append(config.CLASSES.index(class_name))
        ids.append(f"{match.group(1)}_{match.group(2)}")
        parts.append(match.group(1))
        per_class[split_dir, class_name] = per_class.get((split_dir, class_name), 0) + 1
    for split_dir in SPLIT_DIRS:
        for class_name in config.CLASSES:
            if not per_class.get((split_dir, class_name)):
                raise DataError(f"{source}/{split_dir}/{class_name}: class folder is missing or empty")
    # A file name found in two class folders (FER-2013 has two) keeps both images, with the class in the id.
    repeated = {i for i in ids if ids.count(i) > 1} if len(set(ids)) != len(ids) else set()
    ids = [f"{i}-{config.CLASSES[label]}" if i in repeated else i for i, label in zip(ids, labels, strict=False)]
    return Dataset(np.stack(images), np.array(labels, np.int8), np.array(ids), np.array(parts), True).sorted()


def read_folder(path: Path) -> Dataset:
    """Read the Kaggle folder layout ``train/<class>/*.jpg``, ``test/<class>/*.jpg``."""
    for split_dir in SPLIT_DIRS:
        if not (path / split_dir).is_dir():
            raise DataError(f"{path}: no {split_dir}/ folder; expected the Kaggle layout train|test/<class>/*.jpg")
    members = {}
    for split_dir in SPLIT_DIRS:
        for entry in sorted((path / split_dir).iterdir()):
            if not entry.is_dir():
                raise DataError(f"{entry}: unexpected file; expected class folders in {split_dir}/")
            if entry.name not in config.CLASSES:
                raise DataError(f"{entry}: unknown class folder; expected one of {config.CLASSES}")
            for file in sorted(entry.iterdir()):
                members[f"{split_dir}/{entry.name}/{file.name}"] = file.read_bytes
    return from_members(members, path)


def read_zip(path: Path) -> Dataset:
    """Read the Kaggle layout from a zip in place (optionally under one top folder); never extracts."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise DataError(f"{path}: not a readable zip ({error}); the download may be truncated") from None
    with archive:
        names = [info.filename for info in archive.infolist() if not info.is_dir()]
        for name in names:
            pure = PurePosixPath(name.replace("\\", "/"))
            if pure.is_absolute() or ".." in pure.parts or re.match(r"^[A-Za-z]:", name):
                raise DataError(f"{path}: unsafe entry name {name!r} (absolute or with '..'); refusing to read it")
        names = [n for n in names if not n.startswith("__MACOSX/") and not n.endswith(".DS_Store")]
        prefix = ""
        if names and all(n.split("/")[0] not in SPLIT_DIRS for n in names):
            tops = {n.split("/")[0] for n in names}
            if len(tops) == 1:
                prefix = tops.pop() + "/"

        def reader(name):
            def read_bytes():
                try:
                    return archive.read(name)
                except (zipfile.BadZipFile, EOFError, OSError) as error:
                    raise DataError(f"{path}: cannot read entry {name} ({error}); the zip may be truncated") from None

            return read_bytes

        return from_members({n[len(prefix) :]: reader(n) for n in names}, path)


def csv_columns(header: list[str] | None, path: Path) -> list[int]:
    """Positions of emotion, pixels and Usage in a CSV header (any order, spaces around names ignored)."""
    names = [h.strip() for h in header or []]
    if sorted(names) != sorted(CSV_COLUMNS):
        raise DataError(f"{path}: header is {header}, expected the columns {', '.join(CSV_COLUMNS)} (in any order)")
    return [names.index(column) for column in CSV_COLUMNS]


def read_csv(path: Path) -> Dataset:
    """Read ``fer2013.csv`` (emotion,pixels,Usage) or ``icml_face_data.csv`` (emotion, Usage, pixels);
    ids are ``<Usage>_<row number>``."""
    images, labels, ids, parts = [], [], [], []
    with open(path, newline="") as handle:
        rows = csv.reader(handle)
        columns = csv_columns(next(rows, None), path)
        for row_number, row in enumerate(rows, start=1):
            where = f"{path}, row {row_number + 1}"
            if len(row) != len(CSV_COLUMNS):
                raise DataError(f"{where}: expected {len(CSV_COLUMNS)} columns, found {len(row)}")
            emotion, pixels, usage = (row[k] for k in columns)
            emotion, pixels, usage = emotion.strip(), pixels.split(), usage.strip()
            if not emotion.isdigit() or int(emotion) >= len(CSV_LABELS):
                raise DataError(f"{where}: emotion label {emotion!r} is not in 0..6")
            if len(pixels) != PIXELS:
                raise DataError(f"{where}: {len(pixels)} pixel values, expected {PIXELS}")
            if usage not in config.PARTS:
                raise DataError(f"{where}: Usage {usage!r} is not one of {config.PARTS}")
            try:
                values = np.array(pixels, dtype=np.int64)
            except ValueError:
                raise DataError(f"{where}: pixel values are not all integers") from None
            if values.min() < 0 or values.max() > 255:
                raise DataError(f"{where}: pixel values outside 0..255")
            images.append(values.astype(np.uint8).reshape(config.IMAGE_SIZE, config.IMAGE_SIZE))
            labels.append(CSV_TO_CLASS[int(emotion)])
            ids.append(f"{usage}_{row_number - 1}")
            parts.append(usage)
    if not images:
        raise DataError(f"{path}: no data rows")
    return Dataset(np.stack(images), np.array(labels, np.int8), np.array(ids), np.array(parts)).sorted()
