"""The pure decoder behind the quarantine: one reason per kind of bad message, and nothing a
message holds can make it raise."""

import orjson
import pytest

from ingest.events import LoanEvent, LoanEventBuilder
from ingest.streaming.decoding import Rejection, decode_event
from ingest.streaming.sink import Backoff

GOOD = {
    "event_id": "e1", "event_type": "loan.application", "schema_version": 1,
    "occurred_at": "2017-03-01T00:00:00+02:00", "source": "test", "loan_id": "7",
    "payload": {"b": "2", "a": "1"},
}  # fmt: skip


def decode(value, expected="loan.application", max_bytes=10_000):
    return decode_event(value, expected, max_bytes)


def test_a_good_event_keeps_its_payload_and_gets_a_utc_timestamp():
    decoded = decode(orjson.dumps(GOOD))
    assert isinstance(decoded, LoanEvent)
    assert decoded.occurred_at == "2017-02-28T22:00:00Z"
    assert orjson.loads(decoded.payload_json) == GOOD["payload"]
    assert list(orjson.loads(decoded.payload_json)) == ["b", "a"]  # order as received


def test_identity_comes_from_the_content_not_the_producers_id():
    """A status change within a month (same loan, same month fields) and a corrected event
    re-sent under the producer's old id are new facts; the same fact re-sent is the same."""
    first = decode(orjson.dumps(GOOD))
    again = decode(
        orjson.dumps({**GOOD, "event_id": "another id", "payload": {"a": "1", "b": "2"}})
    )
    corrected = decode(orjson.dumps({**GOOD, "payload": {"a": "1", "b": "3"}}))
    assert again.event_id == first.event_id  # key order and the producer's id do not matter
    assert corrected.event_id != first.event_id


def test_a_streamed_event_has_the_id_the_file_loader_gives_the_same_row():
    builder = LoanEventBuilder(["id", "issue_d", "loan_amnt", "loan_status"], "any", 2026)
    loaded, _ = builder.build(["42", "Mar-2017", "5000", "Current"])
    streamed = decode(loaded.to_json())
    assert streamed.event_id == loaded.event_id
    assert streamed.occurred_at == loaded.occurred_at == "2017-03-01T00:00:00Z"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"loan_id": "L-7"}, "loan_id", "not a numeric loan id"),
        (
            {"loan_id": "\uff11\uff12\uff13"},
            "loan_id",
            "not a numeric loan id",
        ),  # full-width digits
        ({"loan_id": "1" * 23}, "loan_id", "not a numeric loan id"),
        ({"occurred_at": "yesterday"}, "occurred_at", "not an ISO-8601 timestamp"),
        ({"occurred_at": "0001-01-01T00:00:00+01:00"}, "occurred_at", "outside the years"),
        ({"occurred_at": "9999-12-31T23:59:59-05:00"}, "occurred_at", "outside the years"),
        ({"source": ""}, "source", "non-empty string"),
        ({"event_id": "e" * 8000}, "event_id", "over the 512 allowed"),
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


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul():
    decoded = decode(orjson.dumps({**GOOD, "payload": {"path": "C:\\u0000dir"}}))
    assert isinstance(decoded, LoanEvent)
    assert orjson.loads(decoded.payload_json) == {"path": "C:\\u0000dir"}


def test_integers_wider_than_64_bits_are_kept_exact():
    wide = 10**30 + 1
    raw = orjson.dumps({**GOOD, "payload": {"b": "2"}}).replace(b'"2"', str(wide).encode())
    decoded = decode(raw)
    assert isinstance(decoded, LoanEvent)
    assert str(wide) in decoded.payload_json and "e+" not in decoded.payload_json


def test_a_payload_nested_too_deep_to_re_encode_is_rejected_not_raised():
    deep = b'{"a":' * 300 + b'"x"' + b"}" * 300
    raw = orjson.dumps({**GOOD, "payload": {}}).replace(b'"payload":{}', b'"payload":' + deep)
    rejection = decode(raw, max_bytes=100_000)
    assert isinstance(rejection, Rejection) and rejection.field == "payload"


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
