"""The driver: chunks of loans through the three phases, in parallel, to CSV text.

Guarantee: the same count and seed give the same bytes, whatever the number of worker
processes. Each chunk of 100,000 loans gets its own seed spawned from the run's seed, and
within a chunk one generator feeds the phases in a fixed order (originate, run forward,
export text), so chunks can be built in any process and joined in order. One process per core,
because building a chunk is CPU-bound numpy and Python string work.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ingest.synthetic.export_text import Columns, csv_text, export_columns
from ingest.synthetic.originate import originate
from ingest.synthetic.run_forward import run_forward
from ingest.synthetic.tables import LENDINGCLUB_COLUMNS

CHUNK_ROWS = 100_000
FIRST_LOAN_ID = 1_000_001


def simulate_chunk(rng: np.random.Generator, n: int, first_id: int) -> Columns:
    """One chunk of loans as export columns (object arrays of raw strings)."""
    loans = originate(rng, n)
    at_export = run_forward(rng, loans)
    return export_columns(rng, loans, at_export, first_id)


def _chunk_text(job: tuple[np.random.SeedSequence, int, int]) -> str:
    chunk_seed, first_row, n = job
    rng = np.random.default_rng(chunk_seed)
    return csv_text(simulate_chunk(rng, n, FIRST_LOAN_ID + first_row))


def generate_lines(count: int, seed: int, workers: int | None = None) -> Iterator[str]:
    """CSV text in export column order, a chunk at a time; the same seed gives the same text.

    Each chunk has its own seed, so chunks are built in parallel processes (one per core)
    without changing the output.
    """
    chunks = (count + CHUNK_ROWS - 1) // CHUNK_ROWS
    seeds = np.random.SeedSequence(seed).spawn(chunks)
    jobs = [
        (s, i * CHUNK_ROWS, min(CHUNK_ROWS, count - i * CHUNK_ROWS)) for i, s in enumerate(seeds)
    ]
    workers = min(workers or os.cpu_count() or 1, chunks)
    if workers <= 1:
        yield from map(_chunk_text, jobs)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(_chunk_text, jobs)


def write_synthetic_csv(path: str | Path, count: int, seed: int) -> int:
    """Write `count` loans as a LendingClub export; returns the number of rows written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        handle.write(",".join(LENDINGCLUB_COLUMNS) + "\n")
        for text in generate_lines(count, seed):
            handle.write(text)
    return count
