"""Decode one Kafka message into a loan event, or say exactly why it cannot be one.

Pure: bytes in, an event or a rejection out. The sink quarantines every rejection with the
message's topic, partition and offset, so a person can act on the reason and nothing is lost.

Guarantee: `decode_event` never raises, whatever the bytes (a Hypothesis test feeds it
generated envelopes and payloads), and what it accepts the warehouse can store and dbt can
read: identifiers are short ASCII, timestamps fall in a range every engine holds, and the
payload is JSON Postgres and DuckDB take (no NUL, no number they would turn into infinity).
The event's identity is derived from its content (`ingest.events.event_id`); the envelope's
own `event_id` is checked for form only, so a corrected event re-sent under its old id is a
new event, never a duplicate of the one it corrects.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ingest.events import (
    EARLIEST_YEAR,
    EVENT_TYPES,
    LATEST_YEAR,
    MAX_LOAN_ID_DIGITS,
    NUL_REASON,
    SCHEMA_VERSIONS,
    LoanEvent,
    canonical_payload,
    event_id,
    valid_loan_id,
)

# Envelope text fields longer than this are refused: they are identifiers and labels, and
# an index on one (Postgres btree entries stop at about 2.7 KB) must never fail a write.
MAX_ENVELOPE_TEXT = 512
# A JSON escape for NUL preceded by an even number of backslashes (so `\\u0000`, an
# escaped backslash followed by 'u0000', is text, not a NUL). The regex runs only on a message
# holding the plain text `\u0000` (a C substring search): run on every message, its
# lookbehind at each position took 190 us of a 4 KB application's 265 us decode here.
_NUL_TEXT = b"\\u0000"
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
# Integers too wide for 64 bits, which orjson reads as floats: the payload is then read with
# the standard library, which keeps them exact. Any run of 19 digits sends a message that way
# (the rule event ids were first computed under, so kept exactly); found as 19 zeros after
# every digit is translated to '0', 2 us where the regex `[0-9]{19}` took 46 us.
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_WIDE_INTEGER_RUN = b"0" * 19


@dataclass(frozen=True, slots=True)
class Rejection:
    field: str | None
    reason: str


def _text_field(envelope: dict, name: str) -> str | Rejection:
    value = envelope.get(name)
    if value is None:
        return Rejection(name, f"envelope field {name!r} is missing")
    if not isinstance(value, str) or not value.strip():
        return Rejection(
            name, f"envelope field {name!r} must be a non-empty string, got {value!r:.60}"
        )
    if len(value) > MAX_ENVELOPE_TEXT:
        return Rejection(
            name,
            f"envelope field {name!r} is {len(value):,} characters long, over the "
            f"{MAX_ENVELOPE_TEXT} allowed",
        )
    return value


def _utc_timestamp(text: str) -> str | Rejection:
    """ISO-8601 text as the UTC form events carry: 'YYYY-MM-DDTHH:MM:SS[.ffffff]Z'."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return Rejection("occurred_at", f"occurred_at {text!r:.60} is not an ISO-8601 timestamp")
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        return Rejection(
            "occurred_at",
            f"occurred_at {text!r:.60} is outside the years {EARLIEST_YEAR}-{LATEST_YEAR}",
        )
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat() + "Z"


def _parse(raw: bytes) -> tuple[Any, bool]:
    """The message as Python values, and whether the standard library read it (integers
    wider than 64 bits, which orjson would have turned into floats, kept exact)."""
    envelope = orjson.loads(raw)
    if isinstance(envelope, dict) and _WIDE_INTEGER_RUN in raw.translate(_DIGITS_AS_ZERO):
        return json.loads(raw), True
    return envelope, False


def _payload_texts(payload: dict[str, Any], wide_integers: bool) -> tuple[str, bytes]:
    """(the payload as stored: its keys in the order received, the canonical form)."""
    if not wide_integers:
        return orjson.dumps(payload).decode(), canonical_payload(payload)
    stored = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    canonical = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return stored, canonical.encode()


def decode_event(raw: bytes | None, expected_type: str, max_bytes: int) -> LoanEvent | Rejection:
    """`expected_type` is the event type the message's topic carries. Never raises."""
    try:
        return _decode(raw, expected_type, max_bytes)
    except Exception as exc:  # a case the checks below do not foresee: held, never fatal
        return Rejection(None, f"could not be decoded ({type(exc).__name__}: {exc!s:.200})")


def _decode(raw: bytes | None, expected_type: str, max_bytes: int) -> LoanEvent | Rejection:
    if not raw:
        return Rejection(None, "empty message: no value (a tombstone or an empty produce)")
    if len(raw) > max_bytes:
        return Rejection(
            None,
            f"message is {len(raw):,} bytes, over the {max_bytes:,}-byte limit "
            "(INGEST_MAX_EVENT_BYTES)",
        )
    try:
        envelope, wide_integers = _parse(raw)
    except (orjson.JSONDecodeError, ValueError, RecursionError) as exc:
        return Rejection(None, f"not JSON: {exc!s:.200}")
    if not isinstance(envelope, dict):
        return Rejection(None, f"JSON {type(envelope).__name__}, not an object with an envelope")
    if _NUL_TEXT in raw and _NUL_ESCAPE.search(raw):  # JSON can only carry a NUL escaped
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
    if version not in SCHEMA_VERSIONS[event_type]:
        readable = " and ".join(map(str, SCHEMA_VERSIONS[event_type]))
        return Rejection(
            "schema_version",
            f"unsupported schema_version {version} for {event_type} (this service reads "
            f"{readable})",
        )
    occurred_at = _utc_timestamp(fields["occurred_at"])
    if isinstance(occurred_at, Rejection):
        return occurred_at
    loan_id = fields["loan_id"]
    if not valid_loan_id(loan_id):
        return Rejection(
            "loan_id",
            f"loan_id {loan_id!r:.60} is not a numeric loan id (1 to {MAX_LOAN_ID_DIGITS} "
            "ASCII digits)",
        )
    payload = envelope.get("payload")
    if not isinstance(payload, dict):
        return Rejection("payload", f"payload must be a JSON object, got {type(payload).__name__}")
    try:
        stored, canonical = _payload_texts(payload, wide_integers)
    except (TypeError, ValueError, RecursionError) as exc:
        return Rejection("payload", f"payload cannot be stored as JSON: {exc!s:.200}")
    return LoanEvent(
        event_id(event_type, loan_id, occurred_at, canonical), event_type, version,
        occurred_at, fields["source"], loan_id, payload, stored,
    )  # fmt: skip
