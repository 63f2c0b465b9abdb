"""The header of a ``.npy`` array read without its data: what an archive member claims to hold
(dataset shards and recordings are checked against it before ``np.load`` allocates anything)."""

from __future__ import annotations

from typing import IO

import numpy as np


def read_npy_header(fh: IO[bytes]) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from the ``.npy`` header at the start of ``fh``; ValueError for data
    that is not a ``.npy`` array of format version 1.0 or 2.0."""
    fmt = np.lib.format
    version = fmt.read_magic(fh)
    if version == (1, 0):
        shape, _, dtype = fmt.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, _, dtype = fmt.read_array_header_2_0(fh)
    else:
        raise ValueError(f"unsupported .npy version {version}")
    return tuple(shape), np.dtype(dtype)
