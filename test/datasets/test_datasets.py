# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""IDX parsing, the MNIST loader and downloader, the Tetris bricks and the digits helper."""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import os
import tempfile
import urllib.error
from unittest import mock

import numpy as np
import torch

from qiskit_qdeep.datasets import (
    TETRIS_CONFIGURATION_COUNTS,
    default_data_dir,
    download_mnist,
    load_digits_dataset,
    load_mnist,
    make_tetris,
    read_idx,
    resize_area,
    tetris_configurations,
    write_idx,
)
from qiskit_qdeep.datasets import mnist as mnist_module
from qiskit_qdeep.exceptions import QDeepValueError, QiskitQDeepError
from test import QDeepTestCase

REAL_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
MNIST_DIR = os.path.join(REAL_DATA, "mnist")
FASHION_DIR = os.path.join(REAL_DATA, "fashion-mnist")

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def idx_bytes(array, *, compress=False):
    buffer = io.BytesIO()
    write_idx(buffer, array)
    data = buffer.getvalue()
    return gzip.compress(data, mtime=0) if compress else data


class TempDirMixin:
    def make_tmp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        return tmp.name


class TestIDX(TempDirMixin, QDeepTestCase):
    """Reading and writing the IDX format."""

    def test_round_trip(self):
        tmp = self.make_tmp()
        shapes = {1: (7,), 2: (3, 5), 3: (4, 2, 3)}
        for dtype, ndim, suffix in itertools.product(IDX_DTYPES, shapes, ("", ".gz")):
            with self.subTest(dtype=np.dtype(dtype).name, ndim=ndim, suffix=suffix):
                info = np.iinfo(dtype) if np.dtype(dtype).kind in "ui" else None
                if info is None:
                    array = self.rng.normal(scale=1e3, size=shapes[ndim]).astype(dtype)
                else:
                    array = self.rng.integers(
                        info.min, info.max, size=shapes[ndim], endpoint=True
                    ).astype(dtype)
                path = os.path.join(tmp, f"a_{np.dtype(dtype).name}_{ndim}.idx{suffix}")
                write_idx(path, array)
                with open(path, "rb") as handle:
                    self.assertEqual(handle.read(2) == b"\x1f\x8b", suffix == ".gz")
                loaded = read_idx(path)
                self.assertEqual(loaded.dtype, np.dtype(dtype))
                self.assertTrue(loaded.dtype.isnative)
                self.assertEqual(loaded.shape, shapes[ndim])
                np.testing.assert_array_equal(loaded, array)
                # file objects work too, compressed or not
                with open(path, "rb") as handle:
                    np.testing.assert_array_equal(read_idx(handle), array)

    def test_header_layout(self):
        data = idx_bytes(np.zeros((2, 28, 28), dtype=np.uint8))
        self.assertEqual(int.from_bytes(data[:4], "big"), 2051)  # MNIST image magic
        self.assertEqual(
            [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(3)], [2, 28, 28]
        )
        self.assertEqual(len(data), 16 + 2 * 28 * 28)
        labels = idx_bytes(np.arange(5, dtype=np.uint8))
        self.assertEqual(int.from_bytes(labels[:4], "big"), 2049)  # MNIST label magic
        big = idx_bytes(np.array([1], dtype=np.int32))
        self.assertEqual(big[-4:], b"\x00\x00\x00\x01")  # big-endian payload

    def test_bad_magic(self):
        data = bytearray(idx_bytes(np.arange(4, dtype=np.uint8)))
        data[0] = 0x12
        with self.assertRaisesRegex(QDeepValueError, "bad IDX magic"):
            read_idx(io.BytesIO(bytes(data)))
        data = bytearray(idx_bytes(np.arange(4, dtype=np.uint8)))
        data[2] = 0x0A
        with self.assertRaisesRegex(QDeepValueError, "unknown IDX type code 0x0A"):
            read_idx(io.BytesIO(bytes(data)))

    def test_truncated(self):
        data = idx_bytes(np.arange(12, dtype=np.int16).reshape(3, 4))
        with self.assertRaisesRegex(QDeepValueError, "truncated IDX data"):
            read_idx(io.BytesIO(data[:-1]))
        with self.assertRaisesRegex(QDeepValueError, "truncated IDX header"):
            read_idx(io.BytesIO(data[:7]))
        with self.assertRaisesRegex(QDeepValueError, "truncated IDX file"):
            read_idx(io.BytesIO(data[:3]))
        with self.assertRaisesRegex(QDeepValueError, "trailing bytes"):
            read_idx(io.BytesIO(data + b"\x00"))
        compressed = gzip.compress(data)
        with self.assertRaisesRegex(QDeepValueError, "gzip"):
            read_idx(io.BytesIO(compressed[: len(compressed) // 2]))

    def test_write_errors(self):
        with self.assertRaisesRegex(QDeepValueError, "cannot store dtype"):
            write_idx(io.BytesIO(), np.zeros(3, dtype=np.uint16))
        with self.assertRaisesRegex(QDeepValueError, "1 to 255 dimensions"):
            write_idx(io.BytesIO(), np.float32(1.0))


class TestResize(QDeepTestCase):
    """Area resizing."""

    def test_block_mean_and_torch(self):
        images = self.rng.random((3, 28, 28)).astype(np.float32)
        blocks = images.reshape(3, 14, 2, 14, 2).mean(axis=(2, 4))
        self.assertAllClose(resize_area(images, (14, 14)), blocks, atol=1e-6)
        for size in [(10, 10), (5, 7), 14, (28, 28), (40, 30)]:
            with self.subTest(size=size):
                expected = torch.nn.functional.interpolate(
                    torch.from_numpy(images)[:, None],
                    size=(size, size) if isinstance(size, int) else size,
                    mode="area",
                )[:, 0]
                self.assertAllClose(resize_area(images, size), expected, atol=1e-6)

    def test_bad_size(self):
        for size in [(0, 3), (3,), "ab", (2.5, 2), True]:
            with self.subTest(size=size), self.assertRaises(QDeepValueError):
                resize_area(np.zeros((1, 4, 4)), size)


class TestLoadMNIST(TempDirMixin, QDeepTestCase):
    """``load_mnist`` on small IDX files written to a temporary directory."""

    def setUp(self):
        super().setUp()
        self.dir = self.make_tmp()
        self.train_x = self.rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
        self.train_y = self.rng.integers(0, 10, size=6).astype(np.uint8)
        self.test_x = self.rng.integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
        self.test_y = self.rng.integers(0, 10, size=4).astype(np.uint8)
        # train split gzip-compressed, test split plain (with the original dotted names)
        write_idx(os.path.join(self.dir, "train-images-idx3-ubyte.gz"), self.train_x)
        write_idx(os.path.join(self.dir, "train-labels-idx1-ubyte.gz"), self.train_y)
        write_idx(os.path.join(self.dir, "t10k-images.idx3-ubyte"), self.test_x)
        write_idx(os.path.join(self.dir, "t10k-labels-idx1-ubyte"), self.test_y)

    def test_normalized(self):
        x, y = load_mnist(self.dir)
        self.assertEqual(x.dtype, np.float32)
        self.assertEqual(y.dtype, np.int64)
        self.assertEqual(x.shape, (6, 28, 28))
        self.assertAllClose(x, self.train_x / 255.0, atol=1e-7)
        np.testing.assert_array_equal(y, self.train_y)
        x, y = load_mnist(self.dir, split="test")
        self.assertAllClose(x, self.test_x / 255.0, atol=1e-7)
        np.testing.assert_array_equal(y, self.test_y)

    def test_raw_and_limit(self):
        x, y = load_mnist(self.dir, normalize=False, limit=3)
        self.assertEqual(x.dtype, np.uint8)
        np.testing.assert_array_equal(x, self.train_x[:3])
        np.testing.assert_array_equal(y, self.train_y[:3])
        x, _ = load_mnist(self.dir, normalize=False, limit=100)
        self.assertEqual(len(x), 6)

    def test_resize(self):
        blocks = self.train_x.reshape(6, 14, 2, 14, 2).mean(axis=(2, 4))
        x, _ = load_mnist(self.dir, resize=(14, 14))
        self.assertEqual(x.shape, (6, 14, 14))
        self.assertEqual(x.dtype, np.float32)
        self.assertAllClose(x, blocks / 255.0, atol=1e-6)
        x, _ = load_mnist(self.dir, resize=14, normalize=False, limit=2)
        self.assertEqual(x.dtype, np.uint8)
        np.testing.assert_array_equal(x, np.rint(blocks[:2]).astype(np.uint8))

    def test_count_mismatch(self):
        write_idx(os.path.join(self.dir, "train-labels-idx1-ubyte.gz"), self.train_y[:5])
        with self.assertRaisesRegex(QDeepValueError, "6 images but .* 5 labels"):
            load_mnist(self.dir)

    def test_bad_arguments(self):
        with self.assertRaisesRegex(QDeepValueError, "kind"):
            load_mnist(self.dir, kind="emnist")
        with self.assertRaisesRegex(QDeepValueError, "split"):
            load_mnist(self.dir, split="valid")
        for limit in (0, -2, 1.5, True):
            with self.subTest(limit=limit), self.assertRaisesRegex(QDeepValueError, "limit"):
                load_mnist(self.dir, limit=limit)
        with self.assertRaisesRegex(QDeepValueError, "resize"):
            load_mnist(self.dir, resize=(0, 14))
        write_idx(os.path.join(self.dir, "t10k-labels-idx1-ubyte"), self.test_y.reshape(2, 2))
        with self.assertRaisesRegex(QDeepValueError, "labels of shape"):
            load_mnist(self.dir, split="test")

    def test_missing_files(self):
        empty = self.make_tmp()
        with self.assertRaises(FileNotFoundError) as ctx:
            load_mnist(empty, split="test")
        message = str(ctx.exception)
        self.assertIn(os.path.abspath(empty), message)
        self.assertIn("t10k-images-idx3-ubyte", message)
        self.assertIn("download=True", message)
        self.assertIn("data_dir=", message)

    def test_default_directory(self):
        root = self.make_tmp()
        with mock.patch.dict(os.environ, {"QISKIT_QDEEP_DATA": root}):
            self.assertEqual(default_data_dir("fashion-mnist"), os.path.join(root, "fashion-mnist"))
            with self.assertRaisesRegex(FileNotFoundError, os.path.join(root, "mnist")):
                load_mnist()
        self.assertEqual(default_data_dir(cache_dir=self.dir), os.path.join(self.dir, "mnist"))
        with mock.patch.dict(os.environ):
            os.environ.pop("QISKIT_QDEEP_DATA", None)
            self.assertEqual(
                default_data_dir(),
                os.path.join(os.path.expanduser("~"), ".cache", "qiskit_qdeep", "mnist"),
            )


class FakeResponse(io.BytesIO):
    def __init__(self, data):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


class TestDownload(TempDirMixin, QDeepTestCase):
    """The download path, served by a patched URL opener (no network)."""

    def setUp(self):
        super().setUp()
        self.root = self.make_tmp()
        images = self.rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
        labels = self.rng.integers(0, 10, size=5).astype(np.uint8)
        self.arrays = {"images": images, "labels": labels}
        self.files = {
            "t10k-images-idx3-ubyte.gz": idx_bytes(images, compress=True),
            "t10k-labels-idx1-ubyte.gz": idx_bytes(labels, compress=True),
        }
        self.md5 = {name: hashlib.md5(data).hexdigest() for name, data in self.files.items()}
        self.requests = []

    def opener(self, request, timeout=None):
        url = request.full_url
        self.requests.append(url)
        if url.startswith("https://broken.example/"):
            raise urllib.error.URLError("unreachable")
        return FakeResponse(self.files[url.rsplit("/", 1)[1]])

    def patch_md5(self, table):
        return mock.patch.dict(mnist_module.MD5_CHECKSUMS, {"mnist": table})

    def leftovers(self, directory):
        return [name for name in os.listdir(directory) if name.endswith(".part")]

    def test_load_with_download(self):
        with self.patch_md5(self.md5), mock.patch("urllib.request.urlopen", self.opener):
            x, y = load_mnist(split="test", download=True, cache_dir=self.root, normalize=False)
        np.testing.assert_array_equal(x, self.arrays["images"])
        np.testing.assert_array_equal(y, self.arrays["labels"])
        first_mirror = mnist_module.MIRRORS["mnist"][0]
        self.assertEqual(sorted(self.requests), sorted(first_mirror + name for name in self.files))
        target = os.path.join(self.root, "mnist")
        self.assertEqual(sorted(os.listdir(target)), sorted(self.files))
        # present files are not downloaded again, and they verify against the table
        with self.patch_md5(self.md5), mock.patch("urllib.request.urlopen", self.opener):
            load_mnist(split="test", download=True, cache_dir=self.root, verify=True)
        self.assertEqual(len(self.requests), 2)

    def test_next_mirror(self):
        mirrors = ("https://broken.example/", "https://good.example/mnist/")
        with self.patch_md5(self.md5), mock.patch.dict(mnist_module.MIRRORS, {"mnist": mirrors}):
            paths = download_mnist(self.root, split="test", opener=self.opener, progress=False)
        self.assertEqual(len(paths), 2)
        self.assertTrue(all(os.path.isfile(path) for path in paths))
        self.assertEqual(len(self.requests), 4)
        self.assertEqual(self.requests[0], "https://broken.example/t10k-images-idx3-ubyte.gz")

    def test_md5_mismatch(self):
        bad = dict(self.md5, **{"t10k-labels-idx1-ubyte.gz": "0" * 32})
        with self.patch_md5(bad), self.assertRaisesRegex(QiskitQDeepError, "MD5 mismatch") as ctx:
            download_mnist(self.root, split="test", opener=self.opener, progress=False)
        self.assertIn("0" * 32, str(ctx.exception))
        self.assertIn(self.md5["t10k-labels-idx1-ubyte.gz"], str(ctx.exception))
        # the good file stays, the bad one is deleted, no temporary file is left
        self.assertEqual(os.listdir(self.root), ["t10k-images-idx3-ubyte.gz"])

    def test_all_mirrors_fail(self):
        mirrors = ("https://broken.example/a/", "https://broken.example/b/")
        with (
            mock.patch.dict(mnist_module.MIRRORS, {"mnist": mirrors}),
            self.assertRaisesRegex(QiskitQDeepError, "(?s)broken.example/a/.*broken.example/b/"),
        ):
            download_mnist(self.root, split="train", opener=self.opener, progress=False)
        self.assertEqual(self.leftovers(self.root), [])

    def test_verify_existing(self):
        for name, data in self.files.items():
            with open(os.path.join(self.root, name), "wb") as handle:
                handle.write(data)
        with self.patch_md5(self.md5):
            load_mnist(self.root, split="test", verify=True)
        bad = dict(self.md5, **{"t10k-images-idx3-ubyte.gz": "f" * 32})
        with self.patch_md5(bad), self.assertRaisesRegex(QDeepValueError, "MD5 mismatch"):
            load_mnist(self.root, split="test", verify=True)
        self.assertEqual(len(os.listdir(self.root)), 2)  # the user's files are kept

    def test_bad_split(self):
        with self.assertRaisesRegex(QDeepValueError, "split"):
            download_mnist(self.root, split=("train", "dev"), opener=self.opener)


class TestTetris(QDeepTestCase):
    """The QCCNN Tetris bricks."""

    def test_configuration_counts(self):
        expected = {"S": 8, "O": 4, "I": 6, "T": 8, "L": 16}
        self.assertEqual(TETRIS_CONFIGURATION_COUNTS, expected)
        cells = {"S": 4, "O": 4, "I": 3, "T": 4, "L": 4}
        for label, count in expected.items():
            with self.subTest(label=label):
                configs = tetris_configurations(label)
                self.assertEqual(configs.shape, (count, 3, 3))
                self.assertEqual(configs.dtype, bool)
                self.assertTrue(np.all(configs.sum(axis=(1, 2)) == cells[label]))
                self.assertEqual(len({c.tobytes() for c in configs}), count)

    def test_shapes(self):
        lines = {c.tobytes() for c in tetris_configurations("I")}
        expected = set()
        for k in range(3):
            row, col = np.zeros((3, 3), bool), np.zeros((3, 3), bool)
            row[k], col[:, k] = True, True
            expected |= {row.tobytes(), col.tobytes()}
        self.assertEqual(lines, expected)
        for config in tetris_configurations("O"):
            rows, cols = np.nonzero(config)
            self.assertEqual((np.ptp(rows), np.ptp(cols)), (1, 1))
        # every brick placement is closed under the symmetries of the square
        for label in TETRIS_CONFIGURATION_COUNTS:
            configs = {c.tobytes() for c in tetris_configurations(label)}
            for config in tetris_configurations(label):
                self.assertIn(np.rot90(config).tobytes(), configs)
                self.assertIn(config[:, ::-1].tobytes(), configs)
        copy = tetris_configurations("T")
        copy[:] = False
        self.assertTrue(tetris_configurations("T").any())

    def test_pixels_and_placements(self):
        labels = ("S", "O", "I", "T", "L")
        images, targets = make_tetris(2000, seed=3)
        self.assertEqual(images.shape, (2000, 3, 3))
        self.assertEqual(images.dtype, np.float32)
        self.assertEqual(targets.dtype, np.int64)
        masks = images > 0.5
        self.assertTrue(np.all((images[masks] >= 0.7) & (images[masks] <= 1.0)))
        self.assertTrue(np.all((images[~masks] >= 0.0) & (images[~masks] <= 0.1)))
        for index, label in enumerate(labels):
            configs = {c.tobytes() for c in tetris_configurations(label)}
            seen = {m.tobytes() for m in masks[targets == index]}
            self.assertEqual(seen, configs)  # every placement drawn, nothing else

    def test_custom_ranges(self):
        images, _ = make_tetris(50, seed=0, foreground=(0.5, 0.5), background=(0.2, 0.3))
        self.assertTrue(np.all((images == 0.5) | ((images >= 0.2) & (images <= 0.3))))

    def test_balanced(self):
        _, targets = make_tetris(1003, seed=5)
        counts = np.bincount(targets, minlength=5)
        self.assertEqual(counts.sum(), 1003)
        self.assertLessEqual(counts.max() - counts.min(), 1)
        _, targets = make_tetris(11, labels=("S", "T"), seed=5)
        self.assertEqual(sorted(np.bincount(targets).tolist()), [5, 6])
        _, targets = make_tetris(1000, seed=None)
        np.testing.assert_array_equal(np.bincount(targets), [200] * 5)
        self.assertFalse(np.all(np.diff(targets) >= 0))  # shuffled

    def test_seed(self):
        a = make_tetris(30, seed=11)
        b = make_tetris(30, seed=11)
        c = make_tetris(30, seed=12)
        d = make_tetris(30, seed=np.random.default_rng(11))
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_array_equal(a[0], d[0])
        self.assertFalse(np.array_equal(a[0], c[0]))

    def test_errors(self):
        for n in (0, -3, 2.0, True):
            with self.subTest(n=n), self.assertRaisesRegex(QDeepValueError, "n_samples"):
                make_tetris(n)
        with self.assertRaisesRegex(QDeepValueError, "Unknown Tetris label 'Z'"):
            make_tetris(10, labels=("S", "Z"))
        with self.assertRaisesRegex(QDeepValueError, "Unknown Tetris label"):
            tetris_configurations("J")
        with self.assertRaisesRegex(QDeepValueError, "distinct"):
            make_tetris(10, labels=("S", "S"))
        with self.assertRaisesRegex(QDeepValueError, "at least one"):
            make_tetris(10, labels=())
        with self.assertRaisesRegex(QDeepValueError, "foreground"):
            make_tetris(10, foreground=(1.0, 0.7))
        with self.assertRaisesRegex(QDeepValueError, "background"):
            make_tetris(10, background=0.1)


class TestDigits(QDeepTestCase):
    """The bundled 8x8 digits."""

    def test_split(self):
        x_train, x_test, y_train, y_test = load_digits_dataset()
        self.assertEqual(x_train.shape[1:], (8, 8))
        self.assertEqual(len(x_train) + len(x_test), 1797)
        self.assertEqual(len(x_test), 360)
        self.assertEqual(x_train.dtype, np.float32)
        self.assertEqual(y_train.dtype, np.int64)
        self.assertGreaterEqual(x_train.min(), 0.0)
        self.assertLessEqual(x_train.max(), 1.0)
        self.assertEqual(x_train.max(), 1.0)
        # stratified: class proportions agree to within one sample per class
        train_frac = np.bincount(y_train) / len(y_train)
        test_counts = np.bincount(y_test)
        self.assertTrue(np.all(np.abs(test_counts - train_frac * len(y_test)) <= 1.5))
        again = load_digits_dataset()
        np.testing.assert_array_equal(again[0], x_train)

    def test_options(self):
        x_train, x_test, y_train, y_test = load_digits_dataset(
            n_class=2, scale=False, test_size=50, flatten=True, random_state=1
        )
        self.assertEqual(x_train.shape[1], 64)
        self.assertEqual(len(x_test), 50)
        self.assertEqual(set(np.unique(y_train)), {0, 1})
        self.assertEqual(x_train.max(), 16.0)
        load_digits_dataset(random_state=np.random.default_rng(0))

    def test_errors(self):
        for kwargs in (
            {"n_class": 1},
            {"n_class": 11},
            {"test_size": 1.0},
            {"test_size": 0},
            {"test_size": "a"},
            {"test_size": 0.001},
        ):
            with self.subTest(**kwargs), self.assertRaises(QDeepValueError):
                load_digits_dataset(**kwargs)


class TestRealFiles(QDeepTestCase):
    """The original files in ``shared/data`` (skipped where they are absent)."""

    def require(self, directory):
        if not os.path.isfile(os.path.join(directory, "t10k-images-idx3-ubyte.gz")):
            self.skipTest(f"no dataset files in {os.path.abspath(directory)}")

    def test_mnist_test_split(self):
        self.require(MNIST_DIR)
        x, y = load_mnist(MNIST_DIR, split="test", verify=True)
        self.assertEqual(x.shape, (10000, 28, 28))
        self.assertEqual(x.dtype, np.float32)
        self.assertEqual(float(x.min()), 0.0)
        self.assertEqual(float(x.max()), 1.0)
        np.testing.assert_array_equal(np.bincount(y, minlength=10), MNIST_TEST_COUNTS)
        self.assertEqual(int(y[0]), 7)
        small, labels = load_mnist(MNIST_DIR, split="test", limit=100, resize=(14, 14))
        self.assertEqual(small.shape, (100, 14, 14))
        self.assertAllClose(small, x[:100].reshape(100, 14, 2, 14, 2).mean(axis=(2, 4)), atol=1e-6)
        np.testing.assert_array_equal(labels, y[:100])

    def test_mnist_train_checksums(self):
        self.require(MNIST_DIR)
        for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
            mnist_module._verify(os.path.join(MNIST_DIR, name), "mnist")

    def test_fashion_mnist_test_split(self):
        self.require(FASHION_DIR)
        x, y = load_mnist(
            FASHION_DIR, kind="fashion-mnist", split="test", verify=True, normalize=False
        )
        self.assertEqual(x.shape, (10000, 28, 28))
        self.assertEqual(x.dtype, np.uint8)
        np.testing.assert_array_equal(np.bincount(y, minlength=10), [1000] * 10)
