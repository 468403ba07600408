"""Decode one Kafka message into a loan event, or say exactly why it cannot be one.

Pure: bytes in, an event or a rejection out. The sink quarantines every rejection with the
message's topic, partition and offset, so a person can act on the reason and nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from ingest.events import EVENT_TYPES, NUL_REASON, SCHEMA_VERSION, LoanEvent


@dataclass(frozen=True, slots=True)
class Rejection:
    field: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class DecodedEvent:
    event: LoanEvent
    payload_json: str


def _text_field(envelope: dict, name: str) -> str | Rejection:
    value = envelope.get(name)
    if value is None:
        return Rejection(name, f"envelope field {name!r} is missing")
    if not isinstance(value, str) or not value.strip():
        return Rejection(
            name, f"envelope field {name!r} must be a non-empty string, got {value!r:.60}"
        )
    return value


def decode_event(raw: bytes | None, expected_type: str, max_bytes: int) -> DecodedEvent | Rejection:
    """`expected_type` is the event type the message's topic carries."""
    if not raw:
        return Rejection(None, "empty message: no value (a tombstone or an empty produce)")
    if len(raw) > max_bytes:
        return Rejection(
            None,
            f"message is {len(raw):,} bytes, over the {max_bytes:,}-byte limit "
            "(INGEST_MAX_EVENT_BYTES)",
        )
    try:
        envelope = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Rejection(None, f"not JSON: {exc}")
    if not isinstance(envelope, dict):
        return Rejection(None, f"JSON {type(envelope).__name__}, not an object with an envelope")
    if b"\\u0000" in raw:  # JSON can only carry a NUL escaped
        return Rejection(None, NUL_REASON)

    fields: dict[str, str] = {}
    for name in ("event_id", "event_type", "occurred_at", "source", "loan_id"):
        value = _text_field(envelope, name)
        if isinstance(value, Rejection):
            return value
        fields[name] = value
    event_type = fields["event_type"]
    if event_type not in EVENT_TYPES:
        return Rejection(
            "event_type", f"unknown event_type {event_type!r:.60} (known: {', '.join(EVENT_TYPES)})"
        )
    if event_type != expected_type:
        return Rejection(
            "event_type",
            f"a {event_type} event on the topic for {expected_type} events: check the producer",
        )
    version = envelope.get("schema_version")
    if type(version) is not int:
        return Rejection(
            "schema_version", f"schema_version must be an integer, got {version!r:.60}"
        )
    if version != SCHEMA_VERSION:
        return Rejection(
            "schema_version",
            f"unsupported schema_version {version} (this service reads {SCHEMA_VERSION})",
        )
    try:
        occurred_at = datetime.fromisoformat(fields["occurred_at"])
    except ValueError:
        return Rejection(
            "occurred_at", f"occurred_at {fields['occurred_at']!r:.60} is not an ISO-8601 timestamp"
        )
    if not fields["loan_id"].isdigit():
        return Rejection("loan_id", f"loan_id {fields['loan_id']!r:.60} is not a numeric loan id")
    payload = envelope.get("payload")
    if not isinstance(payload, dict):
        return Rejection("payload", f"payload must be a JSON object, got {type(payload).__name__}")
    if occurred_at.tzinfo is not None:  # the raw column is a UTC timestamp without zone
        occurred_at = occurred_at.astimezone(UTC).replace(tzinfo=None)
    event = LoanEvent(
        fields["event_id"], event_type, version, occurred_at.isoformat(sep=" "), fields["source"],
        fields["loan_id"], payload,
    )  # fmt: skip
    return DecodedEvent(event, orjson.dumps(payload).decode())
