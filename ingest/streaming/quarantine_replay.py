"""Reprocess quarantined Kafka messages after a fix: `python -m ingest reprocess-quarantine`.

Each quarantined message is decoded again with today's rules; the ones that now pass land in
the event tables under their original Kafka coordinates, so running this twice lands nothing
new. The quarantine rows stay as the record of what arrived and why it was held.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.settings import Settings
from ingest.streaming.decoding import Rejection, decode_event
from ingest.warehouse.batch import Batch, SourcePosition
from ingest.warehouse.landing import RawWriter
from ingest.warehouse.raw_tables import EVENT_TABLES, RAW_SCHEMA

_NOT_IN = " and ".join(
    f"""not exists (
        select 1 from {RAW_SCHEMA}.{table} as landed
        where landed.source_kind = held.source_kind and landed.source_name = held.source_name
          and landed.source_partition = held.source_partition
          and landed.source_offset = held.source_offset)"""
    for table in EVENT_TABLES.values()
)
HELD_MESSAGES_SQL = f"""
select held.source_name, held.source_partition, held.source_offset, held.raw_record
from {RAW_SCHEMA}.ingest_quarantine as held
where held.source_kind = 'kafka' and {_NOT_IN}
order by held.source_name, held.source_partition, held.source_offset
"""


@dataclass
class ReprocessReport:
    held: int
    landed: int
    still_rejected: int

    def summary(self) -> str:
        return (
            f"{self.held:,} quarantined Kafka messages not yet landed: {self.landed:,} now pass "
            f"and landed, {self.still_rejected:,} still rejected (reasons unchanged in "
            "raw.ingest_quarantine)"
        )


def reprocess_quarantine(warehouse: RawWriter, settings: Settings) -> ReprocessReport:
    expected = {topic: event_type for event_type, topic in settings.topics.items()}
    batch = Batch()
    rejected = 0
    held = warehouse.session.rows(HELD_MESSAGES_SQL)
    for topic, partition, offset, raw in held:
        decoded = (
            decode_event(raw, expected[topic], settings.max_event_bytes)
            if topic in expected
            else Rejection(None, "topic is not an event topic")
        )
        if isinstance(decoded, Rejection):
            rejected += 1
            continue
        position = SourcePosition("kafka", topic, partition, offset)
        batch.add_event(decoded, position)
    landed = 0
    if batch:
        result = warehouse.land(batch)
        landed = result.applications + result.performance
    return ReprocessReport(held=len(held), landed=landed, still_rejected=rejected)
