"""Tests for tunebench.datasets: every file format, the splits, subsampling and every error path.

The tests write small real files (npz, CSV, PNG/JPEG, idx) into tmp_path; the tests marked
``realdata`` read the real fer2013.npz and mnist.npz through the ``real_data_dir`` fixture.
"""

from __future__ import annotations

import gzip
import math
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tunebench.datasets import (
    DATASETS,
    Splits,
    clear_cache,
    load_dataset,
    load_fer2013,
    load_mnist,
    resolve_data_dir,
    stratified_subset,
)
from tunebench.errors import DataError

FER_CLASSES = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


# --------------------------------------------------------------------------- helpers


def make_images(n: int, side: int, seed: int) -> np.ndarray:
    """n distinct random uint8 images (each image's first two pixels encode its index)."""
    images = np.random.default_rng(seed).integers(0, 256, size=(n, side, side), dtype=np.uint8)
    images[:, 0, 0] = np.arange(n) % 256
    images[:, 0, 1] = np.arange(n) // 256
    return images


def make_labels(per_class: int | list[int], n_classes: int) -> np.ndarray:
    counts = [per_class] * n_classes if isinstance(per_class, int) else per_class
    return np.repeat(np.arange(n_classes), counts).astype(np.uint8)


def fer_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    arrays = {}
    for offset, (split, per_class) in enumerate((("train", 4), ("val", 2), ("test", 2))):
        y = make_labels(per_class, 7)
        arrays[f"x_{split}"] = make_images(len(y), 48, seed + offset)
        arrays[f"y_{split}"] = y
    return arrays


def write_fer_csv(path: Path, arrays: dict[str, np.ndarray], header: str = "emotion,pixels,Usage"):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [header]
    for split, usage in (("train", "Training"), ("val", "PublicTest"), ("test", "PrivateTest")):
        for image, label in zip(arrays[f"x_{split}"], arrays[f"y_{split}"]):
            pixels = " ".join(str(int(v)) for v in image.ravel())
            lines.append(f'{label},"{pixels}",{usage}')
    path.write_text("\n".join(lines) + "\n")
    return lines


def write_png(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)


def write_fer_folders(root: Path, arrays: dict[str, np.ndarray], prefixes: bool) -> None:
    """Kaggle image-folder layout; class folder names in mixed case on purpose."""
    folder_names = ["angry", "Disgust", "FEAR", "happy", "sad", "Surprise", "neutral"]
    for split in ("train", "val", "test"):
        if split == "train":
            folder, prefix = "train", "Training_"
        else:
            folder = "test"
            usage = {"val": "PublicTest_", "test": "PrivateTest_"}[split]
            prefix = usage if prefixes else f"{split}_"
        for index, (image, label) in enumerate(zip(arrays[f"x_{split}"], arrays[f"y_{split}"])):
            write_png(root / folder / folder_names[label] / f"{prefix}{index:05d}.png", image)


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def mnist_arrays(per_class_train: int = 50, per_class_test: int = 5) -> dict[str, np.ndarray]:
    y_train = make_labels(per_class_train, 10)
    y_test = make_labels(per_class_test, 10)
    return {
        "x_train": make_images(len(y_train), 28, 1),
        "y_train": y_train,
        "x_test": make_images(len(y_test), 28, 2),
        "y_test": y_test,
    }


IDX_NAMES = {
    "x_train": ("train-images-idx3-ubyte", 2051),
    "y_train": ("train-labels-idx1-ubyte", 2049),
    "x_test": ("t10k-images-idx3-ubyte", 2051),
    "y_test": ("t10k-labels-idx1-ubyte", 2049),
}


def write_idx(folder: Path, arrays: dict[str, np.ndarray], gz: bool) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for key, (name, magic) in IDX_NAMES.items():
        data = idx_bytes(arrays[key], magic)
        path = folder / (name + (".gz" if gz else ""))
        path.write_bytes(gzip.compress(data) if gz else data)
        paths[key] = path
    return paths


def rows_as_set(images: np.ndarray) -> set[bytes]:
    return {image.tobytes() for image in images}


def assert_same_splits(splits: Splits, arrays: dict[str, np.ndarray]) -> None:
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(splits.__dict__[f"x_{split}"], arrays[f"x_{split}"])
        np.testing.assert_array_equal(splits.__dict__[f"y_{split}"], arrays[f"y_{split}"])
        assert splits.__dict__[f"x_{split}"].dtype == np.uint8
        assert splits.__dict__[f"y_{split}"].dtype == np.int64


def toy_splits(train=(30, 10, 5), val=(6, 3, 1), test=(4, 4, 2)) -> Splits:
    parts = {}
    for offset, (split, counts) in enumerate((("train", train), ("val", val), ("test", test))):
        y = make_labels(list(counts), 3).astype(np.int64)
        parts[f"x_{split}"] = make_images(len(y), 4, offset)
        parts[f"y_{split}"] = y
    return Splits(name="toy", class_names=("a", "b", "c"), source="memory", **parts)


# --------------------------------------------------------------------------- FER2013 formats


def test_fer_npz_loads_arrays_and_ignores_extra_keys(tmp_path):
    arrays = fer_arrays()
    np.savez_compressed(
        tmp_path / "fer2013.npz",
        **arrays,
        class_names=np.array(FER_CLASSES),
        csv_row_train=np.arange(28, dtype=np.int32),
    )
    splits = load_fer2013(tmp_path, seed=3)
    assert_same_splits(splits, arrays)
    assert splits.name == "fer2013"
    assert splits.class_names == FER_CLASSES
    assert splits.source == str((tmp_path / "fer2013.npz").resolve())
    assert splits.sizes() == {"train": 28, "val": 14, "test": 14}


def test_fer_npz_flat_integer_images_are_reshaped_and_cast(tmp_path):
    arrays = fer_arrays()
    flat = {
        k: (v.reshape(len(v), -1).astype(np.int32) if k.startswith("x_") else v)
        for k, v in arrays.items()
    }
    np.savez(tmp_path / "fer2013.npz", **flat)
    splits = load_fer2013(tmp_path, seed=0)
    assert splits.x_train.shape == (28, 48, 48)
    assert_same_splits(splits, arrays)


@pytest.mark.parametrize("where", ["fer2013.csv", "fer2013/fer2013.csv"])
def test_fer_csv_splits_by_usage(tmp_path, where):
    arrays = fer_arrays()
    write_fer_csv(tmp_path / where, arrays)
    splits = load_fer2013(tmp_path, seed=0)
    assert_same_splits(splits, arrays)
    assert splits.source == str((tmp_path / where).resolve())


def test_fer_csv_accepts_other_column_order_and_spaces(tmp_path):
    arrays = fer_arrays()
    lines = ["emotion, Usage, pixels"]
    for split, usage in (("train", "Training"), ("val", "PublicTest"), ("test", "PrivateTest")):
        for image, label in zip(arrays[f"x_{split}"], arrays[f"y_{split}"]):
            lines.append(f"{label}, {usage}, {' '.join(map(str, image.ravel()))}")
    (tmp_path / "fer2013.csv").write_text("\n".join(lines) + "\n")
    assert_same_splits(load_fer2013(tmp_path, seed=0), arrays)


def test_fer_npz_takes_precedence_over_csv(tmp_path):
    np.savez(tmp_path / "fer2013.npz", **fer_arrays(seed=0))
    write_fer_csv(tmp_path / "fer2013.csv", fer_arrays(seed=10))
    assert load_fer2013(tmp_path, seed=0).source.endswith("fer2013.npz")


@pytest.mark.parametrize("root", ["fer2013", "."])
def test_fer_image_folders_with_usage_prefixes(tmp_path, root):
    arrays = fer_arrays()
    write_fer_folders(tmp_path / root, arrays, prefixes=True)
    (tmp_path / root / "train" / "angry" / "notes.txt").write_text("not an image")
    splits = load_fer2013(tmp_path, seed=0)
    # Files are read by label, then by name: the order they were written in.
    assert_same_splits(splits, arrays)
    assert splits.source == str((tmp_path / root).resolve())


def test_fer_image_folders_without_prefixes_carve_a_seeded_stratified_val(tmp_path):
    arrays = fer_arrays()
    arrays["y_train"] = make_labels(10, 7)
    arrays["x_train"] = make_images(70, 48, 5)
    write_fer_folders(tmp_path / "fer2013", arrays, prefixes=False)
    # the test/ folder holds both the val and test images of `arrays`, without prefixes
    first = load_fer2013(tmp_path, seed=1)
    assert first.sizes() == {"train": 63, "val": 7, "test": 28}
    assert np.bincount(first.y_val, minlength=7).tolist() == [1] * 7  # stratified 10%
    assert rows_as_set(first.x_train) | rows_as_set(first.x_val) == rows_as_set(arrays["x_train"])
    assert not rows_as_set(first.x_train) & rows_as_set(first.x_val)
    again = load_fer2013(tmp_path, seed=1)
    np.testing.assert_array_equal(again.x_val, first.x_val)
    other = load_fer2013(tmp_path, seed=2)
    assert rows_as_set(other.x_val) != rows_as_set(first.x_val)


def test_fer_image_folders_decode_jpeg_and_rgb_to_grayscale(tmp_path):
    arrays = fer_arrays()
    write_fer_folders(tmp_path, arrays, prefixes=True)
    gray = np.full((48, 48), 200, dtype=np.uint8)
    rgb = Image.fromarray(np.stack([gray] * 3, axis=-1))
    rgb.save(tmp_path / "train" / "happy" / "Training_99999.jpg")
    splits = load_fer2013(tmp_path, seed=0)
    assert splits.sizes()["train"] == 29
    last_happy = np.flatnonzero(splits.y_train == 3)[-1]
    assert splits.x_train[last_happy].shape == (48, 48)
    assert abs(int(splits.x_train[last_happy].mean()) - 200) <= 2


# --------------------------------------------------------------------------- MNIST formats


def test_mnist_npz_validation_split_is_stratified_seeded_and_deterministic(tmp_path):
    arrays = mnist_arrays()
    np.savez(tmp_path / "mnist.npz", **arrays)
    splits = load_mnist(tmp_path, seed=7)
    assert splits.sizes() == {"train": 400, "val": 100, "test": 50}  # 20% of 500
    assert np.bincount(splits.y_val).tolist() == [10] * 10
    assert np.bincount(splits.y_train).tolist() == [40] * 10
    assert rows_as_set(splits.x_train) | rows_as_set(splits.x_val) == rows_as_set(arrays["x_train"])
    assert len(rows_as_set(splits.x_train) & rows_as_set(splits.x_val)) == 0
    np.testing.assert_array_equal(splits.x_test, arrays["x_test"])
    assert splits.class_names == tuple("0123456789")
    clear_cache()
    again = load_mnist(tmp_path, seed=7)
    np.testing.assert_array_equal(again.x_val, splits.x_val)
    np.testing.assert_array_equal(again.y_train, splits.y_train)
    other = load_mnist(tmp_path, seed=8)
    assert rows_as_set(other.x_val) != rows_as_set(splits.x_val)
    assert np.bincount(other.y_val).tolist() == [10] * 10


def test_mnist_validation_split_keeps_class_shares_when_imbalanced(tmp_path):
    counts = [100, 50, 30, 20, 10, 10, 10, 10, 5, 5]
    y = make_labels(counts, 10)
    np.savez(tmp_path / "mnist.npz", x_train=make_images(len(y), 28, 0), y_train=y,
             x_test=make_images(10, 28, 1), y_test=make_labels(1, 10))
    splits = load_mnist(tmp_path, seed=0)
    assert splits.sizes()["val"] == 50
    assert np.bincount(splits.y_val, minlength=10).tolist() == [20, 10, 6, 4, 2, 2, 2, 2, 1, 1]


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("sub", [".", "mnist"])
def test_mnist_idx_files(tmp_path, gz, sub):
    arrays = mnist_arrays(per_class_train=10, per_class_test=3)
    write_idx(tmp_path / sub, arrays, gz=gz)
    splits = load_mnist(tmp_path, seed=0, download=False)
    assert splits.sizes() == {"train": 80, "val": 20, "test": 30}
    np.testing.assert_array_equal(splits.x_test, arrays["x_test"])
    np.testing.assert_array_equal(splits.y_test, arrays["y_test"])
    assert rows_as_set(splits.x_train) | rows_as_set(splits.x_val) == rows_as_set(arrays["x_train"])
    assert splits.source == str((tmp_path / sub).resolve())


def test_mnist_npz_takes_precedence_over_idx(tmp_path):
    np.savez(tmp_path / "mnist.npz", **mnist_arrays(per_class_train=3, per_class_test=1))
    write_idx(tmp_path, mnist_arrays(per_class_train=10, per_class_test=3), gz=False)
    assert load_mnist(tmp_path, seed=0).sizes()["test"] == 10


def test_mnist_download_is_used_only_when_nothing_is_local(tmp_path, monkeypatch):
    arrays = mnist_arrays(per_class_train=5, per_class_test=2)
    fake = types.ModuleType("keras")
    fake.datasets = types.SimpleNamespace(
        mnist=types.SimpleNamespace(
            load_data=lambda: (
                (arrays["x_train"], arrays["y_train"]),
                (arrays["x_test"], arrays["y_test"]),
            )
        )
    )
    monkeypatch.setitem(sys.modules, "keras", fake)
    splits = load_mnist(tmp_path, seed=0)
    assert splits.source == "keras.datasets.mnist.load_data()"
    assert splits.sizes() == {"train": 40, "val": 10, "test": 20}


def test_mnist_failed_download_says_where_to_put_the_files(tmp_path, monkeypatch):
    def offline():
        raise OSError("network is unreachable")

    fake = types.ModuleType("keras")
    fake.datasets = types.SimpleNamespace(mnist=types.SimpleNamespace(load_data=offline))
    monkeypatch.setitem(sys.modules, "keras", fake)
    with pytest.raises(DataError) as caught:
        load_mnist(tmp_path, seed=0)
    message = str(caught.value)
    assert str(tmp_path) in message
    assert "mnist.npz" in message and "train-images-idx3-ubyte" in message
    assert "network is unreachable" in message


# --------------------------------------------------------------------------- data directory


def test_resolve_data_dir_prefers_cli_then_env_then_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TUNEBENCH_DATA", raising=False)
    assert resolve_data_dir(None) == tmp_path / "datasets" / "data"
    monkeypatch.setenv("TUNEBENCH_DATA", str(tmp_path / "from_env"))
    assert resolve_data_dir(None) == tmp_path / "from_env"
    assert resolve_data_dir(tmp_path / "from_cli") == tmp_path / "from_cli"
    assert resolve_data_dir("relative") == tmp_path / "relative"
    monkeypatch.setenv("TUNEBENCH_DATA", "")
    assert resolve_data_dir(None) == tmp_path / "datasets" / "data"


def test_load_dataset_dispatches_and_rejects_unknown_names(tmp_path):
    assert DATASETS == ("fer2013", "mnist")
    np.savez(tmp_path / "mnist.npz", **mnist_arrays(per_class_train=3, per_class_test=1))
    assert load_dataset("mnist", tmp_path, 0).name == "mnist"
    with pytest.raises(DataError, match=r"'cifar10'.*fer2013, mnist"):
        load_dataset("cifar10", tmp_path, 0)


# --------------------------------------------------------------------------- cache and immutability


def test_cache_reads_once_hands_out_read_only_arrays_and_notices_changes(tmp_path):
    path = tmp_path / "fer2013.npz"
    np.savez(path, **fer_arrays(seed=0))
    first = load_fer2013(tmp_path, seed=0)
    second = load_fer2013(tmp_path, seed=1)
    assert np.shares_memory(first.x_train, second.x_train)  # one read, shared
    with pytest.raises(ValueError):
        first.x_train[0, 0, 0] = 1
    with pytest.raises(ValueError):
        first.y_test.flags.writeable = True
    replaced = fer_arrays(seed=20)
    np.savez(path, **replaced)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    np.testing.assert_array_equal(load_fer2013(tmp_path, seed=0).x_train, replaced["x_train"])


# --------------------------------------------------------------------------- stratified_subset


def test_subset_count_applies_to_every_split_and_covers_classes():
    splits = toy_splits()
    sub = stratified_subset(splits, 3, seed=0)
    assert sub.sizes() == {"train": 3, "val": 3, "test": 3}
    for split in ("train", "val", "test"):
        assert sorted(getattr(sub, f"y_{split}").tolist()) == [0, 1, 2]
    assert sub.name == "toy" and sub.source == "memory" and sub.class_names == ("a", "b", "c")


def test_subset_fraction_keeps_class_shares():
    sub = stratified_subset(toy_splits(), 0.2, seed=0)
    assert sub.sizes() == {"train": 9, "val": 2, "test": 2}
    assert np.bincount(sub.y_train, minlength=3).tolist() == [6, 2, 1]
    assert stratified_subset(toy_splits(), 1.0, seed=0).sizes() == toy_splits().sizes()


def test_subset_mapping_is_per_split_and_keeps_missing_splits_whole():
    splits = toy_splits()
    sub = stratified_subset(splits, {"train": 12, "test": 0.5}, seed=4)
    assert sub.sizes() == {"train": 12, "val": 10, "test": 5}
    assert np.bincount(sub.y_train).tolist() == [8, 3, 1]
    np.testing.assert_array_equal(sub.x_val, splits.x_val)
    assert rows_as_set(sub.x_train) <= rows_as_set(splits.x_train)
    # images stay with their labels
    for image, label in zip(sub.x_train, sub.y_train):
        index = int(image[0, 0]) + 256 * int(image[0, 1])
        assert splits.y_train[index] == label


def test_subset_is_deterministic_per_seed_and_varies_across_seeds():
    splits = toy_splits()
    a = stratified_subset(splits, 10, seed=1)
    b = stratified_subset(splits, 10, seed=1)
    c = stratified_subset(splits, 10, seed=2)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert rows_as_set(a.x_train) != rows_as_set(c.x_train)
    assert not a.x_train.flags.writeable


@pytest.mark.parametrize(
    "sizes, key, shown",
    [
        (0, "train", "0"),
        (-3, "train", "-3"),
        ({"val": 11}, "val", "11"),
        ({"train": 46}, "train", "46"),
        (0.0, "train", "0.0"),
        (1.5, "train", "1.5"),
        (float("nan"), "train", "nan"),
        ({"test": -0.2}, "test", "-0.2"),
        ("10", "train", "'10'"),
        (True, "train", "True"),
        ({"bogus": 5}, "bogus", "5"),
    ],
)
def test_subset_rejects_bad_values_naming_key_and_value(sizes, key, shown):
    splits = toy_splits()
    with pytest.raises(DataError) as caught:
        stratified_subset(splits, sizes, seed=0)
    message = str(caught.value)
    assert repr(key) in message
    assert shown in message


# --------------------------------------------------------------------------- error paths


def test_missing_fer_lists_what_was_looked_for(tmp_path):
    with pytest.raises(DataError) as caught:
        load_fer2013(tmp_path / "nowhere", seed=0)
    message = str(caught.value)
    assert str(tmp_path / "nowhere") in message and "does not exist" in message
    for name in ("fer2013.npz", "fer2013.csv", "fer2013/fer2013.csv", "train/ + test/"):
        assert name in message
    assert "Kaggle" in message


def test_missing_mnist_without_download_lists_what_was_looked_for(tmp_path):
    with pytest.raises(DataError) as caught:
        load_mnist(tmp_path, seed=0, download=False)
    message = str(caught.value)
    assert str(tmp_path) in message
    for name in ("mnist.npz", "train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert name in message


def test_incomplete_idx_files_name_the_missing_ones(tmp_path):
    paths = write_idx(tmp_path, mnist_arrays(3, 1), gz=False)
    paths["y_test"].unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path, seed=0)


@pytest.mark.parametrize("dataset", ["fer2013", "mnist"])
@pytest.mark.parametrize("keep", [0.5, 0.0])
def test_truncated_npz_names_the_file(tmp_path, dataset, keep):
    path = tmp_path / f"{dataset}.npz"
    arrays = fer_arrays() if dataset == "fer2013" else mnist_arrays(3, 1)
    np.savez_compressed(path, **arrays)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(DataError) as caught:
        load_dataset(dataset, tmp_path, 0)
    assert str(path) in str(caught.value)
    assert "truncated or corrupt" in str(caught.value)


def test_corrupt_npz_member_names_the_file(tmp_path):
    path = tmp_path / "fer2013.npz"
    np.savez_compressed(path, **fer_arrays())
    data = bytearray(path.read_bytes())
    middle = len(data) // 3
    data[middle : middle + 200] = bytes(b ^ 0xFF for b in data[middle : middle + 200])
    path.write_bytes(bytes(data))
    with pytest.raises(DataError) as caught:
        load_fer2013(tmp_path, seed=0)
    assert str(path) in str(caught.value) and "truncated or corrupt" in str(caught.value)


def test_npz_missing_key_names_file_and_key(tmp_path):
    arrays = fer_arrays()
    del arrays["y_val"]
    np.savez(tmp_path / "fer2013.npz", **arrays)
    with pytest.raises(DataError, match=r"fer2013\.npz: lacks the array\(s\) y_val"):
        load_fer2013(tmp_path, seed=0)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_truncated_idx_names_the_file(tmp_path, gz):
    paths = write_idx(tmp_path, mnist_arrays(3, 1), gz=False)
    target = paths["x_train"]
    data = target.read_bytes()[:-100]
    if gz:
        target.unlink()
        target = target.with_name(target.name + ".gz")
        target.write_bytes(gzip.compress(data))
    else:
        target.write_bytes(data)
    with pytest.raises(DataError) as caught:
        load_mnist(tmp_path, seed=0)
    assert str(target) in str(caught.value) and "truncated" in str(caught.value)


def test_truncated_gzip_stream_names_the_file(tmp_path):
    paths = write_idx(tmp_path, mnist_arrays(3, 1), gz=True)
    data = paths["y_train"].read_bytes()
    paths["y_train"].write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError) as caught:
        load_mnist(tmp_path, seed=0)
    assert str(paths["y_train"]) in str(caught.value)


def test_idx_bad_magic_names_the_file(tmp_path):
    arrays = mnist_arrays(3, 1)
    paths = write_idx(tmp_path, arrays, gz=False)
    # labels written where the images belong
    paths["x_test"].write_bytes(idx_bytes(arrays["y_test"], 2049))
    with pytest.raises(DataError) as caught:
        load_mnist(tmp_path, seed=0)
    message = str(caught.value)
    assert str(paths["x_test"]) in message and "magic number 2049" in message and "2051" in message


def test_idx_wrong_image_size_names_the_file(tmp_path):
    arrays = mnist_arrays(3, 1)
    paths = write_idx(tmp_path, arrays, gz=False)
    paths["x_train"].write_bytes(idx_bytes(np.zeros((30, 32, 32), np.uint8), 2051))
    with pytest.raises(DataError) as caught:
        load_mnist(tmp_path, seed=0)
    assert str(paths["x_train"]) in str(caught.value) and "(30, 32, 32)" in str(caught.value)


@pytest.mark.parametrize(
    "row, problem",
    [
        ('0,"1 2 3",Training', "3 pixel values instead of 2304"),
        ('0,"' + " ".join(["1"] * 2303) + ' x",Training', "non-integer pixel value 'x'"),
        ('0,"' + " ".join(["1"] * 2303) + ' 2.5",Training', "non-integer pixel value '2.5'"),
        ('0,"' + " ".join(["1"] * 2303) + ' 256",Training', "outside 0..255"),
        ('7,"' + " ".join(["1"] * 2304) + '",Training', "emotion 7 is outside 0..6"),
        ('happy,"' + " ".join(["1"] * 2304) + '",Training', "not an integer"),
        ('0,"' + " ".join(["1"] * 2304) + '",Validation', "unknown Usage 'Validation'"),
        ('0,"1 2"', "2 fields instead of 3"),
    ],
)
def test_csv_malformed_row_names_file_and_line(tmp_path, row, problem):
    path = tmp_path / "fer2013.csv"
    lines = write_fer_csv(path, fer_arrays())
    lines.insert(3, row)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as caught:
        load_fer2013(tmp_path, seed=0)
    message = str(caught.value)
    assert f"{path}, line 4" in message
    assert problem in message


def test_csv_without_usage_column_names_the_file(tmp_path):
    (tmp_path / "fer2013.csv").write_text("emotion,pixels\n0,\"1 2\"\n")
    with pytest.raises(DataError, match=r"fer2013\.csv: the header .* lacks the column\(s\) usage"):
        load_fer2013(tmp_path, seed=0)


def test_npz_labels_out_of_range_name_file_and_array(tmp_path):
    arrays = fer_arrays()
    arrays["y_test"] = arrays["y_test"].copy()
    arrays["y_test"][0] = 9
    np.savez(tmp_path / "fer2013.npz", **arrays)
    with pytest.raises(DataError) as caught:
        load_fer2013(tmp_path, seed=0)
    message = str(caught.value)
    assert "fer2013.npz" in message and "'y_test'" in message and "label 9 outside 0..6" in message


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda a: a.update(x_train=a["x_train"].astype(np.float32)), "dtype float32"),
        (lambda a: a.update(x_train=a["x_train"].astype(np.int16) - 1), "pixel values -1..254"),
        (lambda a: a.update(x_val=a["x_val"][:, :40, :40]), "shape (14, 40, 40)"),
        (lambda a: a.update(y_train=a["y_train"][:-1]), "28 images but y_train has 27 labels"),
        (lambda a: a.update(y_train=a["y_train"].astype(np.float64)), "expected integer labels"),
        (lambda a: a.update(x_test=a["x_test"][:0], y_test=a["y_test"][:0]), "test split is empty"),
    ],
)
def test_npz_bad_arrays_name_the_file(tmp_path, change, problem):
    arrays = fer_arrays()
    arrays["x_train"][:, 0, 0] = np.arange(28) % 255 + 1  # so that "- 1" gives -1..254 exactly
    arrays["x_train"][0] = np.arange(48 * 48).reshape(48, 48) % 255 + 1
    arrays["x_train"][0, 0, 0] = 0
    change(arrays)
    np.savez(tmp_path / "fer2013.npz", **arrays)
    with pytest.raises(DataError) as caught:
        load_fer2013(tmp_path, seed=0)
    assert str(tmp_path / "fer2013.npz") in str(caught.value)
    assert problem in str(caught.value)


def test_image_of_wrong_size_names_the_file(tmp_path):
    write_fer_folders(tmp_path, fer_arrays(), prefixes=True)
    bad = tmp_path / "train" / "sad" / "Training_00000.png"
    Image.fromarray(np.zeros((40, 48), np.uint8)).save(bad)
    with pytest.raises(DataError) as caught:
        load_fer2013(tmp_path, seed=0)
    assert str(bad) in str(caught.value) and "48x40" in str(caught.value)


def test_corrupt_image_names_the_file(tmp_path):
    write_fer_folders(tmp_path, fer_arrays(), prefixes=True)
    bad = tmp_path / "test" / "FEAR" / "PrivateTest_00004.png"
    bad.write_bytes(bad.read_bytes()[:40])
    with pytest.raises(DataError) as caught:
        load_fer2013(tmp_path, seed=0)
    assert str(bad) in str(caught.value) and "cannot be decoded" in str(caught.value)


def test_unknown_class_folder_names_the_folder(tmp_path):
    write_fer_folders(tmp_path, fer_arrays(), prefixes=True)
    write_png(tmp_path / "train" / "contempt" / "Training_1.png", np.zeros((48, 48), np.uint8))
    with pytest.raises(DataError, match=r"contempt.*unknown class folder"):
        load_fer2013(tmp_path, seed=0)


def test_test_folder_mixing_prefixed_and_plain_names_is_an_error(tmp_path):
    write_fer_folders(tmp_path, fer_arrays(), prefixes=True)
    write_png(tmp_path / "test" / "happy" / "img_1.png", np.zeros((48, 48), np.uint8))
    with pytest.raises(DataError, match=r"'img_1\.png' lack the PublicTest_/PrivateTest_ prefix"):
        load_fer2013(tmp_path, seed=0)


def test_bad_seed_is_rejected(tmp_path):
    with pytest.raises(DataError, match="seed"):
        stratified_subset(toy_splits(), 2, seed=-1)


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_real_fer2013_sizes_and_class_counts(real_data_dir):
    splits = load_dataset("fer2013", real_data_dir, seed=0)
    assert splits.sizes() == {"train": 28709, "val": 3589, "test": 3589}
    assert np.bincount(splits.y_train).tolist() == [3995, 436, 4097, 7215, 4830, 3171, 4965]
    assert np.bincount(splits.y_val).tolist() == [467, 56, 496, 895, 653, 415, 607]
    assert np.bincount(splits.y_test).tolist() == [491, 55, 528, 879, 594, 416, 626]
    assert splits.x_train.shape[1:] == (48, 48) and splits.x_train.dtype == np.uint8
    assert splits.x_train[0].ravel()[:5].tolist() == [70, 80, 82, 72, 58]  # row 0 of fer2013.csv
    assert splits.class_names == FER_CLASSES
    again = load_dataset("fer2013", real_data_dir, seed=1)
    assert np.shares_memory(again.x_train, splits.x_train)  # served from the cache, not read again


@pytest.mark.realdata
def test_real_mnist_sizes_and_stratified_validation(real_data_dir):
    splits = load_dataset("mnist", real_data_dir, seed=0)
    assert splits.sizes() == {"train": 48000, "val": 12000, "test": 10000}
    full = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    val_counts = np.bincount(splits.y_val).tolist()
    assert (np.bincount(splits.y_train) + np.bincount(splits.y_val)).tolist() == full
    assert all(math.floor(n * 0.2) <= v <= math.ceil(n * 0.2) for n, v in zip(full, val_counts))
    assert splits.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    other = load_dataset("mnist", real_data_dir, seed=1)
    assert not np.array_equal(other.y_train, splits.y_train) or not np.array_equal(
        other.x_train, splits.x_train
    )


def test_training_labels_of_one_class_are_refused(tmp_path):
    arrays = fer_arrays()
    arrays["y_train"] = np.zeros_like(arrays["y_train"])
    np.savez(tmp_path / "fer2013.npz", **arrays)
    with pytest.raises(DataError, match=r"fer2013\.npz.*every label in y_train is 0: a classifier cannot learn"):
        load_fer2013(tmp_path, seed=0)
