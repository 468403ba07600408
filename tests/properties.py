"""Hypothesis strategies for what a Kafka message can hold: envelopes with every field right,
wrong, missing or hostile (NUL, wide integers, deep nesting, out-of-range times, full-width
digits), and plain garbage bytes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: wider than 64 bits too
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)


@st.composite
def nested(draw) -> object:
    """A value nested up to far deeper than any encoder allows."""
    depth = draw(st.integers(min_value=0, max_value=400))
    value: object = draw(st.text(max_size=5))
    for _ in range(depth):
        value = {"a": value} if draw(st.booleans()) else [value]
    return value


@st.composite
def timestamps(draw) -> str:
    moment = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    offset = draw(st.integers(min_value=-23, max_value=23))
    zone = draw(st.sampled_from([None, UTC, timezone(timedelta(hours=offset))]))
    return moment.replace(tzinfo=zone).isoformat()


@st.composite
def plausible_timestamps(draw) -> str:
    moment = draw(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 12, 30)))
    return moment.replace(tzinfo=UTC).isoformat()


def _nonblank(text: str) -> bool:
    return bool(text.strip())


# Values a producer following the contract sends, and values it must not.
good_values = {
    "event_id": st.uuids().map(str) | st.text(min_size=1, max_size=40).filter(_nonblank),
    "event_type": st.just("loan.application"),
    "schema_version": st.just(1),
    "occurred_at": plausible_timestamps(),
    "source": st.text(min_size=1, max_size=60).filter(_nonblank),
    "loan_id": st.integers(min_value=0, max_value=10**18 - 1).map(str),
    "payload": st.dictionaries(st.text(max_size=20), json_values, max_size=8)
    | nested().map(lambda v: {"deep": v}),
}
bad_values = {
    "event_id": json_values | st.just("x" * 8000),
    "event_type": st.text() | json_values,
    "schema_version": json_values,
    "occurred_at": timestamps() | st.text() | json_values,
    "source": json_values,
    "loan_id": st.text(alphabet=st.characters(categories=["Nd", "No", "L"]), max_size=25)
    | st.integers(min_value=10**18).map(str)
    | json_values,
    "payload": json_values,
}


@st.composite
def envelopes(draw) -> dict:
    """An event envelope whose fields are mostly right: each one may instead be wrong
    or missing, so both the landing and every rejection are reached."""
    envelope = {}
    for name, good in good_values.items():
        choice = draw(st.integers(min_value=0, max_value=11))
        if choice == 0:
            continue  # missing
        envelope[name] = draw(bad_values[name] if choice == 1 else good)
    return envelope


@st.composite
def messages(draw) -> bytes | None:
    """What a message value can be: a JSON envelope, another JSON text, or any bytes."""
    kind = draw(st.integers(min_value=0, max_value=9))
    if kind == 0:
        return draw(st.none() | st.binary(max_size=200))
    if kind == 1:
        return json.dumps(draw(json_values)).encode()
    ascii_only = draw(st.booleans())
    try:
        return json.dumps(draw(envelopes()), ensure_ascii=ascii_only).encode()
    except (RecursionError, ValueError):  # nested past the encoder's own limit
        return b'{"payload": ' + b"[" * 5000 + b"]" * 5000 + b"}"
