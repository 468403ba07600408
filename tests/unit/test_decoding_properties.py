"""Whatever a message holds, decoding returns an event the warehouse can store or a reason to
quarantine it; it never raises (a raise would stop the service on every restart)."""

import json
import re
import uuid

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ingest.events import LoanEvent, valid_loan_id
from ingest.streaming import decoding
from ingest.streaming.decoding import Rejection, decode_event
from tests.properties import messages

UTC_FORM = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")


def _texts(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_any_message_decodes_or_is_rejected_with_a_reason(raw):
    decoded = decode_event(raw, "loan.application", 1_048_576)
    if isinstance(decoded, Rejection):
        event(f"rejected: {decoded.field}")
        assert decoded.reason.strip()
        return
    event("accepted")
    assert isinstance(decoded, LoanEvent)
    assert uuid.UUID(decoded.event_id).version == 8
    assert valid_loan_id(decoded.loan_id)
    assert UTC_FORM.fullmatch(decoded.occurred_at)
    assert 1900 <= int(decoded.occurred_at[:4]) <= 2200
    assert all(len(text) <= 512 for text in (decoded.source, decoded.loan_id))
    payload = json.loads(decoded.payload_json)
    assert isinstance(payload, dict)
    assert not any("\x00" in text for text in _texts(payload))
    for text in (decoded.source, decoded.loan_id, decoded.payload_json):
        assert "\x00" not in text


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200) | st.lists(st.sampled_from([b"1", b"9", b"0", b"a", b"\\", b"u0000", b"\\u0000", b'"', b"7" * 18]), max_size=40).map(b"".join))  # fmt: skip
def test_the_fast_checks_agree_with_the_regexes_event_ids_were_computed_under(raw):
    """The 19-digit and NUL-escape checks decide how a message is read and stored, so its
    event id: the fast forms must say what the original regexes said, on any bytes."""
    wide = decoding._WIDE_INTEGER_RUN in raw.translate(decoding._DIGITS_AS_ZERO)
    assert wide == bool(re.search(rb"[0-9]{19}", raw))
    nul = decoding._NUL_TEXT in raw and bool(decoding._NUL_ESCAPE.search(raw))
    assert nul == bool(re.search(rb"(?<!\\)(?:\\\\)*\\u0000", raw))
