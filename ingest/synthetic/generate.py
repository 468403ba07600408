"""The driver: chunks of loans through the phases, in parallel, to CSV text.

Guarantee: the same count and seed give the same bytes, whatever the number of worker
processes. Each chunk of 100,000 loans gets its own seed spawned from the run's seed, and
within a chunk one generator feeds the phases in a fixed order (originate, run forward,
export text), so chunks can be built in any process and joined in order. The monthly
history, when asked for, draws from a generator spawned from the chunk's seed, so the export
is the same bytes with or without it. One process per core, because building a chunk is
CPU-bound numpy and Python string work.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from ingest.synthetic.export_text import Columns, csv_text, export_columns
from ingest.synthetic.history import history_csv, history_header, history_table
from ingest.synthetic.originate import Originated, originate
from ingest.synthetic.run_forward import AtExport, run_forward
from ingest.synthetic.tables import LENDINGCLUB_COLUMNS

CHUNK_ROWS = 100_000
FIRST_LOAN_ID = 1_000_001


def simulate(
    rng: np.random.Generator, n: int, first_id: int
) -> tuple[Originated, AtExport, Columns]:
    """One chunk of loans: at issue, at the export date, and as export columns (object arrays
    of raw strings)."""
    loans = originate(rng, n)
    at_export = run_forward(rng, loans)
    return loans, at_export, export_columns(rng, loans, at_export, first_id)


def simulate_chunk(rng: np.random.Generator, n: int, first_id: int) -> Columns:
    """One chunk of loans as export columns."""
    return simulate(rng, n, first_id)[2]


def _chunk_text(job: tuple[np.random.SeedSequence, int, int, bool]) -> tuple[str, bytes]:
    """The chunk's export rows, and its monthly history rows if asked (else b"")."""
    chunk_seed, first_row, n, with_history = job
    history_seed = chunk_seed.spawn(1)[0]  # spawning leaves chunk_seed's own stream as it was
    first_id = FIRST_LOAN_ID + first_row
    loans, at_export, columns = simulate(np.random.default_rng(chunk_seed), n, first_id)
    text = csv_text(columns)
    if not with_history:
        return text, b""
    history_rng = np.random.default_rng(history_seed)
    return text, history_csv(history_table(history_rng, loans, at_export, first_id))


def generate_chunks(
    count: int, seed: int, workers: int | None = None, with_history: bool = False
) -> Iterator[tuple[str, bytes]]:
    """(export CSV text, history CSV bytes) a chunk at a time, in order; the same seed gives
    the same text. Each chunk has its own seed, so chunks are built in parallel processes
    (one per core) without changing the output."""
    chunks = (count + CHUNK_ROWS - 1) // CHUNK_ROWS
    seeds = np.random.SeedSequence(seed).spawn(chunks)
    jobs = [
        (s, i * CHUNK_ROWS, min(CHUNK_ROWS, count - i * CHUNK_ROWS), with_history)
        for i, s in enumerate(seeds)
    ]
    workers = min(workers or os.cpu_count() or 1, chunks)
    if workers <= 1:
        yield from map(_chunk_text, jobs)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(_chunk_text, jobs)


def generate_lines(count: int, seed: int, workers: int | None = None) -> Iterator[str]:
    """The export's CSV text in column order, a chunk at a time (see generate_chunks)."""
    for text, _ in generate_chunks(count, seed, workers):
        yield text


def write_synthetic_csv(
    path: str | Path, count: int, seed: int, history_path: str | Path | None = None
) -> int:
    """Write `count` loans as a LendingClub export, and their monthly payment history in the
    PMTHIST layout to `history_path` if given; returns the number of loan-months written
    there (0 without it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    loan_months = 0
    with ExitStack() as files:
        handle = files.enter_context(path.open("w", newline="", encoding="utf-8"))
        handle.write(",".join(LENDINGCLUB_COLUMNS) + "\n")
        if history_path is not None:
            history = files.enter_context(Path(history_path).open("wb"))
            history.write(history_header())
        for text, months in generate_chunks(count, seed, with_history=history_path is not None):
            handle.write(text)
            if months:
                history.write(months)
                loan_months += months.count(b"\n")
    return loan_months
