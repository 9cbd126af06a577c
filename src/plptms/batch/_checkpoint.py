"""Checkpoints: each finished batch on disk, so a killed run resumes where it was.

A checkpoint is a directory::

    manifest.json          fingerprint, number of params, batch size, format
    batch-000000.parquet   a finished batch of flat records (see below), or
    batch-000001.pkl       a finished batch of any other picklable results

The parent process writes a batch as soon as its result arrives (write to a
temporary file, then an atomic rename), so a run killed mid-way loses at most the
batches in flight, and a half-written file is never read.

Format, decided per batch:

- **Parquet** when the batch's results are *flat records*: plain ``dict`` objects
  with the same ``str`` keys in the same order, each key holding values of one
  Python type among ``bool``, ``int`` (64-bit), ``float`` and ``str`` (or
  ``None``). These round-trip exactly (value and Python type), and the directory
  reads as one table with pyarrow, pandas or DuckDB (``batch-*.parquet``).
- **Pickle** (protocol 5) otherwise: numpy scalars and arrays, pydantic models,
  nested or ragged results. Parquet would silently change their types (a
  ``numpy.float64`` would come back a ``float``, an int column with one float
  would come back all floats), and a resumed run must return exactly what a fresh
  run returns. Pickle files are trusted input: read only checkpoints you wrote.

The fingerprint is the SHA-256 of the function's module and qualified name, the
pickled params and the seed state (entropy, spawn key, pool size, children
spawned). A checkpoint made by another run is refused. Arguments bound in a
``functools.partial`` and the function's code are not part of it: change either
and use a new directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from typing import TYPE_CHECKING, Any

from ..utils import short_repr, soft_import

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from ._tasks import SeedState

__all__ = [
    "CheckpointMismatchError",
    "fingerprint",
    "is_records",
    "load_batches",
    "open_checkpoint",
    "write_batch",
]

_FORMAT = 1
_MANIFEST = "manifest.json"
_INT64 = (-(2**63), 2**63 - 1)
_RECORD_TYPES = (bool, int, float, str)


class CheckpointMismatchError(ValueError):
    """A checkpoint directory holds another run (other params, seed or function)."""


def _func_name(func: Callable[..., Any]) -> str:
    name = getattr(func, "__qualname__", type(func).__qualname__)
    return f"{getattr(func, '__module__', '?')}.{name}"


def fingerprint(
    func: Callable[..., Any], params: Sequence[Any], state: SeedState
) -> str:
    """Return the SHA-256 that identifies a run.

    Parameters
    ----------
    func : callable
        The task function (its module and qualified name are hashed).
    params : sequence
        The params (pickled, protocol 5).
    state : tuple
        The seed state from :func:`plptms.batch._tasks.seed_state`.

    Returns
    -------
    digest : str
        Hexadecimal SHA-256.

    Raises
    ------
    TypeError
        If the params cannot be pickled.
    """
    digest = hashlib.sha256()
    digest.update(_func_name(func).encode())
    try:
        digest.update(pickle.dumps(list(params), protocol=5))
    except Exception as err:
        raise TypeError(
            f"Invalid value for 'params': they cannot be pickled ({err}); allowed: "
            "picklable params when 'checkpoint' is set."
        ) from err
    entropy, key, pool_size, spawned = state
    digest.update(repr((entropy, key, pool_size, spawned)).encode())
    return digest.hexdigest()


def is_records(results: Sequence[Any]) -> bool:
    """Whether a batch's results are flat records that Parquet round-trips exactly.

    Parameters
    ----------
    results : sequence
        One batch's results.

    Returns
    -------
    ok : bool
        ``True`` for non-empty plain dicts with the same ``str`` keys in the same
        order and one type per key among bool, int (64-bit), float, str (or None).
    """
    if not results or type(results[0]) is not dict:
        return False
    keys = list(results[0])
    if not keys or not all(type(k) is str for k in keys):
        return False
    column_type: dict[str, type] = {}
    for row in results:
        if type(row) is not dict or list(row) != keys:
            return False
        for key, value in row.items():
            if value is None:
                continue
            kind = type(value)
            if (
                kind not in _RECORD_TYPES
                or column_type.setdefault(key, kind) is not kind
            ):
                return False
            if kind is int and not _INT64[0] <= value <= _INT64[1]:
                return False
    return True


def _batch_path(root: Path, index: int, suffix: str) -> Path:
    return root / f"batch-{index:06d}{suffix}"


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def write_batch(root: Path, index: int, results: Sequence[Any]) -> Path:
    """Write one finished batch (Parquet for flat records, else pickle).

    Parameters
    ----------
    root : pathlib.Path
        The checkpoint directory.
    index : int
        The batch's index.
    results : sequence
        The batch's results, in params order.

    Returns
    -------
    path : pathlib.Path
        The file written.
    """
    if is_records(results):
        pa = soft_import("pyarrow", "write Parquet checkpoints")
        pq = soft_import(
            "pyarrow.parquet", "write Parquet checkpoints", package="pyarrow"
        )
        table = pa.Table.from_pylist(list(results))
        path = _batch_path(root, index, ".parquet")
        _atomic_write(path, lambda tmp: pq.write_table(table, tmp))
        return path
    path = _batch_path(root, index, ".pkl")
    blob = pickle.dumps(list(results), protocol=5)
    _atomic_write(path, lambda tmp: tmp.write_bytes(blob))
    return path


def _read_batch(root: Path, index: int) -> list[Any] | None:
    parquet = _batch_path(root, index, ".parquet")
    if parquet.is_file():
        pq = soft_import(
            "pyarrow.parquet", "read Parquet checkpoints", package="pyarrow"
        )
        return list(pq.read_table(parquet).to_pylist())
    pkl = _batch_path(root, index, ".pkl")
    if pkl.is_file():
        loaded: list[Any] = pickle.loads(
            pkl.read_bytes()
        )  # our own files (see module docstring)
        return loaded
    return None


def open_checkpoint(
    root: Path,
    *,
    digest: str,
    n_tasks: int,
    func: Callable[..., Any],
    batch_size: int | None,
    planned_size: int,
) -> int:
    """Create a checkpoint directory, or check an existing one belongs to this run.

    Parameters
    ----------
    root : pathlib.Path
        The checkpoint directory (created with its parents if missing).
    digest : str
        This run's :func:`fingerprint`.
    n_tasks : int
        Number of params.
    func : callable
        The task function (its name is recorded for the error message).
    batch_size : int | None
        The batch size asked for (``None``: the batching rule).
    planned_size : int
        The batch size the rule chose for this run.

    Returns
    -------
    size : int
        The batch size to use: the checkpoint's own when resuming.

    Raises
    ------
    CheckpointMismatchError
        If the directory holds another run's checkpoint.
    ValueError
        If the path is a file, a non-empty directory without a manifest, or
        ``batch_size`` differs from the checkpoint's.
    """
    manifest_path = root / _MANIFEST
    if root.exists() and not root.is_dir():
        raise ValueError(
            f"Invalid value for 'checkpoint': got {str(root)!r}, a file; allowed: a "
            "directory (new, empty, or a checkpoint of this same run)."
        )
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("fingerprint") != digest:
            raise CheckpointMismatchError(
                f"Invalid value for 'checkpoint': {str(root)!r} holds a checkpoint of "
                f"another run ({manifest.get('func')}, {manifest.get('n_tasks')} "
                f"params, fingerprint {str(manifest.get('fingerprint'))[:12]}...); "
                f"this run ({_func_name(func)}, {n_tasks} params, fingerprint "
                f"{digest[:12]}...) has other params, seed or function. Allowed: a "
                "new or empty directory, or the checkpoint of this same run."
            )
        stored = int(manifest["batch_size"])
        if batch_size is not None and batch_size != stored:
            raise ValueError(
                f"Invalid value for 'batch_size': got {short_repr(batch_size)}; the "
                f"checkpoint in {str(root)!r} was written with batches of {stored}; "
                f"allowed: {stored} or None."
            )
        return stored
    if root.is_dir() and any(root.iterdir()):
        raise ValueError(
            f"Invalid value for 'checkpoint': got {str(root)!r}, a non-empty "
            "directory without a checkpoint manifest; allowed: a new or empty "
            "directory, or the checkpoint of this same run."
        )
    root.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": _FORMAT,
        "fingerprint": digest,
        "func": _func_name(func),
        "n_tasks": n_tasks,
        "batch_size": planned_size,
    }
    text = json.dumps(manifest, indent=2) + "\n"
    _atomic_write(manifest_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return planned_size


def load_batches(root: Path, bounds: Sequence[tuple[int, int]]) -> dict[int, list[Any]]:
    """Load the finished batches of a checkpoint.

    Parameters
    ----------
    root : pathlib.Path
        The checkpoint directory.
    bounds : sequence of tuple of int
        ``(start, stop)`` of each batch.

    Returns
    -------
    done : dict
        Batch index -> its results, for every batch found on disk.

    Raises
    ------
    ValueError
        If a batch file holds the wrong number of results.
    """
    done: dict[int, list[Any]] = {}
    for index, (start, stop) in enumerate(bounds):
        results = _read_batch(root, index)
        if results is None:
            continue
        if len(results) != stop - start:
            raise ValueError(
                f"Invalid value for 'checkpoint': batch {index} in {str(root)!r} "
                f"holds {len(results)} results; allowed: {stop - start} (params "
                f"{start} to {stop - 1})."
            )
        done[index] = results
    return done
