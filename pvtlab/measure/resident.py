"""Give a forked child the file-backed pages its parent had resident, so its RSS starts where a fresh
interpreter's does.

Why: on fork, Linux copies the page-table entries of anonymous memory but not of file-backed mappings without
private copies (the shared libraries' code and read-only data); the child maps those pages again only when it
touches them. A fork of the zygote (child.py) therefore starts with a few hundred MiB less RSS than a fresh interpreter
that loaded the same libraries, and every library page a step touches for the first time would count as the
step's memory. Re-mapping, before the measurement, exactly the file pages the parent has mapped (read from the
parent's /proc pagemap "present" bit; MADV_POPULATE_READ maps them without copying) makes the child's idle RSS and
its VmHWM comparable with a fresh interpreter's.
"""

from __future__ import annotations

import ctypes
import mmap
import os
from pathlib import Path

import numpy as np

MADV_POPULATE_READ = 22  # Linux >= 5.14
_PRESENT = np.uint64(1 << 63)


def _file_mappings(pid: int) -> list[tuple[int, int]]:
    """(start, end) of the readable file-backed mappings of ``pid``."""
    ranges = []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        fields = line.split()
        if len(fields) < 6 or fields[4] == "0" or not fields[1].startswith("r"):
            continue  # anonymous (inode 0), unreadable, or special
        start, end = (int(part, 16) for part in fields[0].split("-"))
        ranges.append((start, end))
    return ranges


def present_runs(pagemap, start: int, end: int, page: int) -> list[tuple[int, int]]:
    """(address, length) runs of pages present in the pagemap between ``start`` and ``end``."""
    pagemap.seek(start // page * 8)
    entries = np.frombuffer(pagemap.read((end - start) // page * 8), dtype=np.uint64)
    present = np.concatenate(([False], (entries & _PRESENT) != 0, [False]))
    edges = np.flatnonzero(np.diff(present.astype(np.int8)))
    return [(start + int(a) * page, int(b - a) * page) for a, b in zip(edges[::2], edges[1::2])]


def map_parent_resident_pages() -> int:
    """In a forked child: map the file pages the parent has resident; returns the bytes asked for.

    Best effort: where pagemap or MADV_POPULATE_READ is unavailable nothing is mapped (returns 0).
    """
    parent, page = os.getppid(), mmap.PAGESIZE
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    mapped = 0
    try:
        with open(f"/proc/{parent}/pagemap", "rb") as pagemap:
            for start, end in _file_mappings(parent):
                for address, length in present_runs(pagemap, start, end, page):
                    if libc.madvise(address, length, MADV_POPULATE_READ) == 0:
                        mapped += length
    except OSError:
        return mapped
    return mapped
