# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""MNIST and Fashion-MNIST from their original IDX files: parser, writer, loader, downloader."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.request
from collections.abc import Callable, Sequence
from typing import IO, Any

import numpy as np

from .._paths import DATA_ENV_VAR, data_cache_root  # noqa: F401  (DATA_ENV_VAR: kept here too)
from ..exceptions import DatasetNotFoundError, QDeepValueError, QiskitQDeepError

#: IDX type code -> numpy dtype (big-endian, as stored in the file).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_CODE_OF_KIND = {
    ("u", 1): 0x08,
    ("i", 1): 0x09,
    ("i", 2): 0x0B,
    ("i", 4): 0x0C,
    ("f", 4): 0x0D,
    ("f", 8): 0x0E,
}

_GZIP_MAGIC = b"\x1f\x8b"

#: Supported datasets.
KINDS = ("mnist", "fashion-mnist")

#: Supported splits and the file-name prefix of each.
_SPLIT_PREFIX = {"train": "train", "test": "t10k"}

#: Download mirrors per dataset, tried in order (the MNIST list is the one torchvision uses).
MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}

#: Published MD5 checksums of the gzip files, plus the MD5 of their decompressed content
#: (computed from the verified gzip files) so that uncompressed copies can be verified too.
MD5_CHECKSUMS: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    },
}

_CHUNK = 1 << 16


# ------------------------------------------------------------------------------------------------
# IDX format
# ------------------------------------------------------------------------------------------------


def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return getattr(source, "name", None) or type(source).__name__


def read_idx(source: str | os.PathLike | IO[bytes]) -> np.ndarray:
    """Reads an array stored in the IDX format (as used by MNIST), gzip-compressed or not.

    The header is two zero bytes, one type code byte (``0x08`` uint8, ``0x09`` int8, ``0x0B``
    int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64), one byte with the number of
    dimensions, then each dimension as a big-endian unsigned 32-bit integer. The data follow in
    C order, big-endian. Gzip compression is detected from the content, not from the file name.

    Args:
        source: A path or a binary file object.

    Returns:
        The array, in native byte order, with the dtype given by the type code.

    Raises:
        QDeepValueError: If the magic number is bad, the type code is unknown, or the data are
            truncated or followed by trailing bytes.
    """
    name = _describe(source)
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as handle:
            raw = handle.read()
    else:
        raw = source.read()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise QDeepValueError(f"{name}: corrupt or truncated gzip stream ({exc}).") from exc
    if len(raw) < 4:
        raise QDeepValueError(f"{name}: truncated IDX file ({len(raw)} bytes, no full header).")
    if raw[0] != 0 or raw[1] != 0:
        raise QDeepValueError(
            f"{name}: bad IDX magic number 0x{raw[:4].hex()}; an IDX file starts with two zero "
            "bytes, a type code and the number of dimensions."
        )
    code, ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        raise QDeepValueError(
            f"{name}: unknown IDX type code 0x{code:02X}; expected one of "
            + ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
            + "."
        )
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise QDeepValueError(
            f"{name}: truncated IDX header: {ndim} dimensions need {header_len} bytes, "
            f"got {len(raw)}."
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    available = len(raw) - header_len
    if available < expected:
        raise QDeepValueError(
            f"{name}: truncated IDX data: shape {shape} needs {expected} bytes, got {available}."
        )
    if available > expected:
        raise QDeepValueError(
            f"{name}: {available - expected} trailing bytes after the IDX data of shape {shape}."
        )
    data = np.frombuffer(raw, dtype=dtype, count=expected // dtype.itemsize, offset=header_len)
    return data.reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(target: str | os.PathLike | IO[bytes], array: Any) -> None:
    """Writes an array in the IDX format; a path ending in ``.gz`` is gzip-compressed.

    Args:
        target: A path or a binary file object (written uncompressed).
        array: An array with 1 to 255 dimensions and dtype uint8, int8, int16, int32, float32 or
            float64.

    Raises:
        QDeepValueError: If the dtype has no IDX type code, or the number or size of the
            dimensions cannot be stored.
    """
    arr = np.asarray(array)
    code = _CODE_OF_KIND.get((arr.dtype.kind, arr.dtype.itemsize))
    if code is None:
        raise QDeepValueError(
            f"IDX cannot store dtype {arr.dtype}; use uint8, int8, int16, int32, float32 or "
            "float64."
        )
    if not 1 <= arr.ndim <= 255:
        raise QDeepValueError(f"IDX stores 1 to 255 dimensions, got {arr.ndim}.")
    if max(arr.shape) >= 2**32:
        raise QDeepValueError(f"IDX dimensions must be below 2**32, got shape {arr.shape}.")
    payload = (
        bytes([0, 0, code, arr.ndim])
        + np.asarray(arr.shape, dtype=">u4").tobytes()
        + np.ascontiguousarray(arr, dtype=IDX_DTYPES[code]).tobytes()
    )
    if not isinstance(target, (str, os.PathLike)):
        target.write(payload)
        return
    if os.fspath(target).endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    with open(target, "wb") as handle:
        handle.write(payload)


# ------------------------------------------------------------------------------------------------
# Files, checksums, download
# ------------------------------------------------------------------------------------------------


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise QDeepValueError(f"kind must be one of {KINDS}, got {kind!r}.")
    return kind


def _check_split(split: str) -> str:
    if split not in _SPLIT_PREFIX:
        raise QDeepValueError(f"split must be 'train' or 'test', got {split!r}.")
    return split


def _file_names(split: str) -> tuple[str, str]:
    prefix = _SPLIT_PREFIX[split]
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def _candidates(base: str) -> tuple[str, ...]:
    # "train-images-idx3-ubyte" -> .gz, plain, and the stored name "train-images.idx3-ubyte".
    dotted = base.replace("-idx", ".idx")
    return (base + ".gz", base, dotted + ".gz", dotted)


def _find(directory: str, base: str) -> str | None:
    for candidate in _candidates(base):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def default_data_dir(kind: str = "mnist", *, cache_dir: str | os.PathLike | None = None) -> str:
    """Directory where :func:`load_mnist` looks for (and downloads) a dataset by default.

    Args:
        kind: ``"mnist"`` or ``"fashion-mnist"``.
        cache_dir: Root of the cache. Defaults to the ``QISKIT_QDEEP_DATA`` environment variable
            if set, else ``~/.cache/qiskit_qdeep``.

    Returns:
        ``<cache_dir>/<kind>``.

    Raises:
        QDeepValueError: If ``kind`` is unknown.
    """
    _check_kind(kind)
    root = data_cache_root() if cache_dir is None else os.path.expanduser(os.fspath(cache_dir))
    return os.path.join(root, kind)


def file_md5(path: str | os.PathLike) -> str:
    """MD5 hex digest of a file, read in chunks.

    Args:
        path: The file.

    Returns:
        The 32-character lower-case hex digest.
    """
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(path: str, kind: str) -> None:
    name = os.path.basename(path)
    expected = MD5_CHECKSUMS[kind].get(name)
    if expected is None:
        raise QDeepValueError(f"No published MD5 checksum for {name!r} of {kind}.")
    actual = file_md5(path)
    if actual != expected:
        raise QDeepValueError(
            f"MD5 mismatch for {path}: expected {expected}, got {actual}. The file is corrupt or "
            "not the original; delete it and load again with download=True."
        )


def _fetch(
    url: str,
    destination: str,
    expected_md5: str | None,
    *,
    opener: Callable[..., Any],
    progress: bool,
    timeout: float,
) -> None:
    """Downloads one URL to ``destination`` through a temporary file and checks its MD5."""
    from .._progress import tqdm

    directory = os.path.dirname(destination) or "."
    request = urllib.request.Request(url, headers={"User-Agent": "qiskit-qdeep"})
    handle, tmp_path = tempfile.mkstemp(
        prefix="." + os.path.basename(destination) + ".", suffix=".part", dir=directory
    )
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with os.fdopen(handle, "wb") as out, opener(request, timeout=timeout) as response:
            headers = getattr(response, "headers", None)
            length = headers.get("Content-Length") if headers is not None else None
            total = int(length) if length and str(length).isdigit() else None
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=os.path.basename(destination),
                disable=not progress,
                leave=False,
            ) as bar:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        actual = digest.hexdigest()
        if expected_md5 is not None and actual != expected_md5:
            raise QDeepValueError(f"MD5 mismatch: expected {expected_md5}, got {actual}")
        os.replace(tmp_path, destination)
    finally:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)


def download_mnist(
    data_dir: str | os.PathLike | None = None,
    *,
    kind: str = "mnist",
    split: str | Sequence[str] = ("train", "test"),
    cache_dir: str | os.PathLike | None = None,
    force: bool = False,
    progress: bool = True,
    opener: Callable[..., Any] | None = None,
    timeout: float = 60.0,
) -> list[str]:
    """Downloads the gzip IDX files of MNIST or Fashion-MNIST and checks their MD5 checksums.

    Each file is fetched from the mirrors in :data:`MIRRORS` in turn, streamed to a temporary
    file in the target directory with a progress bar, checked against :data:`MD5_CHECKSUMS`,
    and only then renamed to its final name. A file whose checksum does not match is deleted
    and the next mirror is tried.

    Args:
        data_dir: Target directory; defaults to :func:`default_data_dir` ``(kind, cache_dir)``.
        kind: ``"mnist"`` or ``"fashion-mnist"``.
        split: ``"train"``, ``"test"`` or a sequence of both.
        cache_dir: Cache root used when ``data_dir`` is ``None``.
        force: Download even files that already exist.
        progress: Show a ``tqdm`` progress bar.
        opener: Callable ``opener(request, timeout=...)`` returning a context manager with a
            ``read(size)`` method; defaults to :func:`urllib.request.urlopen`.
        timeout: Socket timeout in seconds.

    Returns:
        The paths of the files of the requested splits.

    Raises:
        QDeepValueError: If ``kind`` or ``split`` is unknown.
        QiskitQDeepError: If no mirror delivered a file with the right checksum; the message
            lists each URL tried and why it failed.
    """
    _check_kind(kind)
    splits = [split] if isinstance(split, str) else list(split)
    for name in splits:
        _check_split(name)
    directory = (
        os.fspath(data_dir) if data_dir is not None else default_data_dir(kind, cache_dir=cache_dir)
    )
    os.makedirs(directory, exist_ok=True)
    if opener is None:
        opener = urllib.request.urlopen
    paths = []
    for name in splits:
        for base in _file_names(name):
            file_name = base + ".gz"
            destination = os.path.join(directory, file_name)
            paths.append(destination)
            if os.path.isfile(destination) and not force:
                continue
            failures = []
            for mirror in MIRRORS[kind]:
                url = mirror + file_name
                try:
                    _fetch(
                        url,
                        destination,
                        MD5_CHECKSUMS[kind].get(file_name),
                        opener=opener,
                        progress=progress,
                        timeout=timeout,
                    )
                    break
                except (OSError, http.client.HTTPException, QDeepValueError) as exc:
                    failures.append(f"{url}: {exc}")
            else:
                raise QiskitQDeepError(
                    f"Could not download {file_name} of {kind} into {directory}:\n  "
                    + "\n  ".join(failures)
                )
    return paths


# ------------------------------------------------------------------------------------------------
# Loader
# ------------------------------------------------------------------------------------------------


def _area_matrix(size_in: int, size_out: int) -> np.ndarray:
    """Rows average the input windows [floor(i*n/m), ceil((i+1)*n/m)) (adaptive average pooling)."""
    weights = np.zeros((size_out, size_in), dtype=np.float64)
    for i in range(size_out):
        start = (i * size_in) // size_out
        stop = -((-(i + 1) * size_in) // size_out)
        weights[i, start:stop] = 1.0 / (stop - start)
    return weights


def resize_area(images: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resizes a stack of images by area averaging.

    Each output pixel is the mean of the input window ``[floor(i*H/h), ceil((i+1)*H/h))`` (and
    likewise along the columns), the same rule as ``torch.nn.functional.interpolate(...,
    mode="area")``. When the size divides evenly (28 -> 14) this is the mean of each block.

    Args:
        images: Array of shape ``(..., H, W)``.
        size: Output ``(h, w)``, or one int for a square output.

    Returns:
        Float array of shape ``(..., h, w)`` (float32 unless the input is float64).

    Raises:
        QDeepValueError: If ``size`` is not one or two positive integers.
    """
    height, width = _check_size(size)
    images = np.asarray(images)
    if images.ndim < 2:
        raise QDeepValueError(f"images must have shape (..., H, W), got {images.shape}.")
    dtype = np.float64 if images.dtype == np.float64 else np.float32
    rows = _area_matrix(images.shape[-2], height).astype(dtype)
    cols = _area_matrix(images.shape[-1], width).astype(dtype)
    return (rows @ images.astype(dtype, copy=False) @ cols.T).astype(dtype, copy=False)


def _check_size(size: Any) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size, size)
    try:
        height, width = size
    except (TypeError, ValueError):
        raise QDeepValueError(
            f"resize must be an int or a pair (height, width), got {size!r}."
        ) from None
    for value in (height, width):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise QDeepValueError(f"resize must hold positive integers, got {size!r}.")
    return int(height), int(width)


def _not_found(kind: str, split: str, directory: str, missing: list[str]) -> DatasetNotFoundError:
    """The error for missing files; the remedy is in Python terms, the rest is structured.

    Besides the message, the error carries ``directory`` (absolute), ``missing`` (file names) and
    ``problem`` (the message without the remedy), so the command line can name its own flags
    (``--download``, ``--data-dir``) instead of ``download=True`` and ``data_dir=``.
    """
    problem = f"{kind} {split} files not found in {directory} (missing: {', '.join(missing)})."
    return DatasetNotFoundError(
        f"data_dir: {problem} Pass download=True to download them there, "
        "or data_dir=<directory holding the IDX files>.",
        directory=directory,
        missing=list(missing),
        problem=problem,
    )


def load_mnist(
    data_dir: str | os.PathLike | None = None,
    *,
    kind: str = "mnist",
    split: str = "train",
    download: bool = False,
    limit: int | None = None,
    resize: int | tuple[int, int] | None = None,
    normalize: bool = True,
    cache_dir: str | os.PathLike | None = None,
    verify: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Loads MNIST or Fashion-MNIST from the original IDX files.

    The loader looks in ``data_dir`` for ``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte``
    (``split="train"``) or ``t10k-images-idx3-ubyte`` / ``t10k-labels-idx1-ubyte``
    (``split="test"``), each either gzip-compressed (``.gz``) or not. Without ``data_dir`` it uses
    the cache ``<cache_dir>/<kind>``, where ``cache_dir`` defaults to the ``QISKIT_QDEEP_DATA``
    environment variable or ``~/.cache/qiskit_qdeep``; ``download=True`` fetches missing files
    there (or into ``data_dir``) with :func:`download_mnist`.

    Example:
        .. code-block:: python

            from qiskit_qdeep.datasets import load_mnist

            # 14x14 images, as in the HQNN-Quanv experiments
            x, y = load_mnist(split="test", download=True, limit=500, resize=(14, 14))

    Args:
        data_dir: Directory holding the IDX files.
        kind: ``"mnist"`` or ``"fashion-mnist"``.
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000 images).
        download: Download missing files (MD5-checked) instead of raising.
        limit: Keep only the first ``limit`` samples, in file order (no shuffling, no
            stratification); a ``limit`` above the number of samples keeps all of them.
        resize: Output ``(height, width)`` (or one int) obtained by area averaging, see
            :func:`resize_area`; e.g. ``(14, 14)`` averages 2x2 blocks.
        normalize: Return float32 pixels in ``[0, 1]`` (divided by 255) instead of uint8. Resized
            uint8 images are rounded back to uint8.
        cache_dir: Cache root used when ``data_dir`` is ``None``.
        verify: Check the MD5 checksum of the files against :data:`MD5_CHECKSUMS` (reads each
            file once more).

    Returns:
        ``(images, labels)``: images of shape ``(n, 28, 28)`` (or ``(n, *resize)``), float32 in
        ``[0, 1]`` when ``normalize`` else uint8, and int64 labels of shape ``(n,)``.

    Raises:
        DatasetNotFoundError: (a ``FileNotFoundError``) If the files are missing and
            ``download`` is ``False``; the message names the directory searched.
        QDeepValueError: If an argument is bad, a file is not valid IDX, the image and label
            counts differ, or (with ``verify``) a checksum does not match.
        QiskitQDeepError: If a download fails.
    """
    _check_kind(kind)
    _check_split(split)
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1
    ):
        raise QDeepValueError(f"limit must be a positive integer or None, got {limit!r}.")
    size = _check_size(resize) if resize is not None else None

    directory = (
        os.fspath(data_dir) if data_dir is not None else default_data_dir(kind, cache_dir=cache_dir)
    )
    bases = _file_names(split)
    paths = [_find(directory, base) for base in bases]
    if any(path is None for path in paths):
        if not download:
            missing = [
                base + "[.gz]" for base, path in zip(bases, paths, strict=True) if path is None
            ]
            raise _not_found(kind, split, os.path.abspath(directory), missing)
        download_mnist(directory, kind=kind, split=split)
        paths = [_find(directory, base) for base in bases]
    if verify:
        for path in paths:
            _verify(path, kind)

    images = read_idx(paths[0])
    labels = read_idx(paths[1])
    if images.ndim != 3 or images.dtype != np.uint8:
        raise QDeepValueError(
            f"{paths[0]}: expected uint8 images of shape (n, rows, cols), got {images.dtype} "
            f"{images.shape}."
        )
    if labels.ndim != 1:
        raise QDeepValueError(f"{paths[1]}: expected labels of shape (n,), got {labels.shape}.")
    if images.shape[0] != labels.shape[0]:
        raise QDeepValueError(
            f"Count mismatch: {paths[0]} holds {images.shape[0]} images but {paths[1]} holds "
            f"{labels.shape[0]} labels."
        )
    if limit is not None:
        images, labels = images[:limit], labels[:limit]

    if normalize:
        images = images.astype(np.float32) / np.float32(255.0)
        if size is not None:
            images = resize_area(images, size)
    elif size is not None:
        images = np.clip(np.rint(resize_area(images, size)), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(images), labels.astype(np.int64)
