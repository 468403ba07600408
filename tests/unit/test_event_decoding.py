"""The pure decoder behind the quarantine: one reason per kind of bad message."""

import orjson
import pytest

from ingest.event_decoding import DecodedEvent, Rejection, decode_event
from ingest.warehouse_sink import Backoff

GOOD = {
    "event_id": "e1", "event_type": "loan.application", "schema_version": 1,
    "occurred_at": "2017-03-01T00:00:00+02:00", "source": "test", "loan_id": "7",
    "payload": {"b": "2", "a": "1"},
}  # fmt: skip


def decode(value, expected="loan.application", max_bytes=10_000):
    return decode_event(value, expected, max_bytes)


def test_a_good_event_keeps_its_payload_and_gets_a_utc_timestamp():
    decoded = decode(orjson.dumps(GOOD))
    assert isinstance(decoded, DecodedEvent)
    assert decoded.event.occurred_at == "2017-02-28 22:00:00"
    assert orjson.loads(decoded.payload_json) == GOOD["payload"]
    assert list(orjson.loads(decoded.payload_json)) == ["b", "a"]  # order as received


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"loan_id": "L-7"}, "loan_id", "not a numeric loan id"),
        ({"occurred_at": "yesterday"}, "occurred_at", "not an ISO-8601 timestamp"),
        ({"source": ""}, "source", "non-empty string"),
        ({"schema_version": True}, "schema_version", "must be an integer"),
        ({"payload": None}, "payload", "must be a JSON object"),
    ],
)
def test_envelope_problems_name_the_field(change, field, words):
    rejection = decode(orjson.dumps({**GOOD, **change}))
    assert isinstance(rejection, Rejection)
    assert rejection.field == field and words in rejection.reason


@pytest.mark.parametrize("change", [{"payload": {"emp_title": "Nurse\x00"}}, {"source": "csv\x00"}])
def test_a_nul_character_anywhere_is_rejected(change):
    """Postgres text cannot hold it: landed, it would fail every dbt build that reads it."""
    rejection = decode(orjson.dumps({**GOOD, **change}))
    assert isinstance(rejection, Rejection) and "NUL character" in rejection.reason


def test_size_is_checked_before_parsing():
    rejection = decode(b"x" * 101, max_bytes=100)
    assert rejection == Rejection(None, rejection.reason) and "101 bytes" in rejection.reason


def test_none_and_empty_values_are_empty_messages():
    assert "empty message" in decode(None).reason
    assert "empty message" in decode(b"").reason


def test_backoff_doubles_to_a_cap_and_resets():
    backoff = Backoff(first=1, cap=5)
    assert [backoff.next_delay() for _ in range(5)] == [1, 2, 4, 5, 5]
    backoff.reset()
    assert backoff.next_delay() == 1
