"""Land a CSV in a warehouse the way `python -m ingest load` does: the setup of most
integration tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

from ingest.loader import load_csv
from ingest.warehouse import Warehouse


def land_csv(warehouse: Warehouse, csv_path: Path) -> None:
    warehouse.init()
    try:
        load_csv(csv_path, warehouse, show_progress=False)
    finally:
        warehouse.close()
