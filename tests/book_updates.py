"""A month of news for an existing book: what the incremental dbt models are built for.

The update is a later export of some active loans (same ids, same issue month, so their
applications are duplicates the warehouse must skip) with a new as-of month and some
statuses moved on, so each update row is one new performance event; or loans new to the book.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ingest.synthetic import write_synthetic_csv

ACTIVE_STATUSES = ("Current", "In Grace Period", "Late (16-30 days)", "Late (31-120 days)")
NEXT_MONTH = "Apr-2019"  # the synthetic export is dated March 2019
# Deterministic status moves, by position among the updated loans.
_MOVES = (
    (50, "Charged Off"),
    (20, "Late (31-120 days)"),
    (10, "In Grace Period"),
    (7, "Fully Paid"),
)


def _moved_status(position: int, status: str) -> str:
    for every, new_status in _MOVES:
        if position % every == 0:
            return new_status
    return status


def write_next_month(book_csv: Path, out_csv: Path, count: int) -> int:
    """Write the next month's export of the first `count` active loans; returns rows written."""
    written = 0
    with book_csv.open(newline="", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        with out_csv.open("w", newline="", encoding="utf-8") as target:
            writer = csv.DictWriter(target, fieldnames=reader.fieldnames)
            writer.writeheader()
            for row in reader:
                if row["loan_status"] not in ACTIVE_STATUSES:
                    continue
                written += 1
                row["loan_status"] = _moved_status(written, row["loan_status"])
                row["last_pymnt_d"] = row["last_credit_pull_d"] = NEXT_MONTH
                writer.writerow(row)
                if written == count:
                    break
    return written


def split_book(book_csv: Path, first_csv: Path, second_csv: Path, first_rows: int) -> None:
    """Split an export in two files (both with the header), to land a book in two loads."""
    with book_csv.open(encoding="utf-8") as source:
        header = source.readline()
        with first_csv.open("w", encoding="utf-8") as first:
            first.write(header)
            for _, line in zip(range(first_rows), source, strict=False):
                first.write(line)
        with second_csv.open("w", encoding="utf-8") as second:
            second.write(header)
            second.writelines(source)


def write_new_loans(out_csv: Path, count: int, seed: int, id_shift: int) -> None:
    """`count` synthetic loans numbered `id_shift` above the generator's own ids, so a book
    generated with another seed and at most `id_shift` loans has none of them."""
    generated = out_csv.with_name(f"{out_csv.stem}.generated.csv")
    write_synthetic_csv(generated, count, seed)
    with generated.open(newline="", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        with out_csv.open("w", newline="", encoding="utf-8") as target:
            writer = csv.DictWriter(target, fieldnames=reader.fieldnames)
            writer.writeheader()
            for row in reader:
                row["id"] = str(int(row["id"]) + id_shift)
                writer.writerow(row)
