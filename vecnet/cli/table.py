"""Numeric tables from CSV and ``.npy`` files: what ``vecnet train`` and ``vecnet predict`` read.

:func:`read_table` reads a whole table of numbers (with an optional header of
column names) and refuses anything else with a ``ValueError`` naming the file;
:func:`column_index` finds a column by name or index.
"""

from __future__ import annotations

import os
import warnings

import numpy as np


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_table(path, delimiter=",", header=None):
    """A numeric table from a CSV or ``.npy`` file.

    Parameters
    ----------
    path : str
        A ``.npy`` file holding a 2-D numeric array, or a text file of numbers
        separated by ``delimiter``, with an optional header line of column names.
    delimiter : str, default ","
    header : bool, optional
        Whether a CSV file's first line names the columns. By default it does
        when none of its fields is a number; ``True`` takes it as names even if
        some look like numbers (``year,2020,label``), ``False`` as data.

    Returns
    -------
    data : ndarray, shape (n_rows, n_columns), float64
    names : list of str or None
        Column names from the header line, if there is one.
    """
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file")
    if path.lower().endswith(".npy"):
        try:
            data = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise ValueError(f"{path}: not a readable .npy array ({exc})") from None
        if data.ndim != 2 or data.dtype.kind not in "biuf":
            raise ValueError(f"{path}: expected a 2-D numeric array, got {data.ndim}-D of dtype {data.dtype}")
        if data.shape[0] == 0:
            raise ValueError(f"{path}: the array has no rows ({data.shape[0]} x {data.shape[1]})")
        return np.asarray(data, dtype=np.float64), None
    with open(path, "rb") as f:   # a binary file (an .npz, a .npy without its extension) is not a table
        start = f.read(1024)
    if b"\0" in start:
        raise ValueError(f"{path}: a binary file, not a CSV table of numbers (a .npy file must end in .npy)")
    with open(path, newline="", encoding="utf-8-sig") as f:
        first = f.readline()
    if not first.strip():
        raise ValueError(f"{path}: the file is empty (or its first line is blank)")
    fields = [x.strip().strip('"').strip("'") for x in first.rstrip("\r\n").split(delimiter)]
    guessed = header is None
    if guessed:
        header = not any(_is_number(x) for x in fields)
    names = fields if header else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy warns on an empty file
            data = np.loadtxt(path, delimiter=delimiter, skiprows=1 if names else 0, ndmin=2,
                              dtype=np.float64, encoding="utf-8-sig", quotechar='"')
    except UserWarning:   # numpy: "input contained no data"
        raise ValueError(f"{path}: the file has a header but no rows of data") from None
    except ValueError as exc:
        hint = ("; a header line must name every column (pass --header when some names are numbers)"
                if guessed and not names else "")
        message = str(exc).split("; use `usecols`")[0].rstrip(".")   # numpy's hint names its own argument
        raise ValueError(f"{path}: not a numeric table ({message}{hint})") from None
    if data.shape[0] == 0:
        raise ValueError(f"{path}: the file has a header but no rows of data")
    if names is not None:
        seen = {}
        for i, name in enumerate(names):
            if name in seen:
                raise ValueError(f"{path}: the header names column {name!r} twice (columns "
                                 f"{seen[name]} and {i}, 0-based); column names must be unique")
            seen[name] = i
    if names is not None and len(names) != data.shape[1]:
        raise ValueError(f"{path}: the header has {len(names)} names but the rows have "
                         f"{data.shape[1]} values")
    if not np.isfinite(data).all():
        row = int(np.argwhere(~np.isfinite(data))[0, 0])
        raise ValueError(f"{path}: data row {row + 1} contains NaN or inf (missing values are not supported)")
    return data, names


def column_index(spec, names, n_columns, path):
    """Index of the column ``spec`` (a header name or an int index, negative from the end)."""
    if names is not None and spec in names:
        return names.index(spec)
    try:
        index = int(spec)
    except ValueError:
        known = f"columns are {names}" if names else "the file has no header, so use a 0-based index"
        raise ValueError(f"{path}: no column named {spec!r}; {known}") from None
    if not -n_columns <= index < n_columns:
        raise ValueError(f"{path}: column index {index} is out of range for {n_columns} columns")
    return index % n_columns
