"""Process-wide allocator settings for bulk loads (glibc only; elsewhere a no-op).

A bulk load frees and allocates the same few hundred megabytes for every part it parses and
lands. By default glibc hands freed memory back to the kernel at once and maps large blocks
afresh, so the next part pays for it again in page faults: a fifth of the DuckDB writer's CPU
time (200k loans: 521k faults; with these settings 376k, and 31k -> 32.8k loans/s).
"""

from __future__ import annotations

import ctypes

# mallopt parameters, from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_SETTINGS = (
    (_M_TRIM_THRESHOLD, 1 << 30),  # keep up to 1 GB of freed heap before returning any
    (_M_TOP_PAD, 64 << 20),  # grow the heap 64 MB at a time
    (_M_MMAP_THRESHOLD, 32 << 20),  # blocks up to 32 MB (a part is about 23 MB) from the heap
)


def retain_freed_memory() -> bool:
    """Keep freed memory in this process (and the processes it forks) for reuse; whether
    the allocator took the settings. Call once, in a process that exists to load."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    return all(mallopt(parameter, value) == 1 for parameter, value in _SETTINGS)
