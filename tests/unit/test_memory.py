import platform
import subprocess
import sys

import pytest

# Allocate and free a loader part's worth of memory (2 KB strings and one 24 MB block) six
# times; count the page faults of the last five.
CHURN = """
import resource
from ingest.files.memory import retain_freed_memory
{setup}
def churn():
    strings = [bytes(2000) + bytes([i % 256]) for i in range(12000)]
    block = bytearray(24 << 20)
    return len(strings) + len(block)
churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    churn()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_freed_memory_is_reused_without_page_faults():
    """By default glibc returns much of it to the kernel and faults it back in (about 12,000
    faults here); with the settings the memory stays mapped."""
    script = CHURN.format(setup="assert retain_freed_memory()")
    faults = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert int(faults) < 1_000
