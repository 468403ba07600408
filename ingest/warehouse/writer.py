"""Opening the raw-table writer of the configured warehouse (the loader, the streaming
service's writer process, replays): a session of the engine WAREHOUSE names, wrapped in that
engine's writer."""

from __future__ import annotations

from ingest.settings import Settings
from ingest.warehouse.landing import RawWriter
from ingest.warehouse.session import engine_module

# Records per transaction for bulk loads: one DuckDB row group (122,880 rows) per table. A
# DuckDB commit checkpoints the table's last, partly filled row group by compressing it again,
# so committing every 25k rows compressed each payload about three times.
BULK_COMMIT_ROWS = 122_880


def open_writer(settings: Settings) -> RawWriter:
    engine = engine_module(settings)
    return engine.writer_class()(engine.open_session(settings, read_only=False))


def open_initialised_writer(settings: Settings) -> RawWriter:
    """The writer, with the raw tables made sure to exist (idempotent)."""
    writer = open_writer(settings)
    try:
        writer.init()
    except BaseException:
        writer.close()
        raise
    return writer
