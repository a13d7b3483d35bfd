"""The y-protocols wire format and the Yjs update helpers (pure, property-tested)."""

from __future__ import annotations

import contextlib

import pycrdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worksheets.yprotocol import (
    EMPTY_UPDATE,
    AwarenessEntry,
    AwarenessMessage,
    ProtocolError,
    QueryAwarenessMessage,
    SyncMessage,
    decode_awareness_update,
    decode_message,
    decode_state_vector,
    encode_awareness_update,
    encode_message,
    encode_state_vector,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
    merge_for_snapshot,
    read_var_uint,
    rebuild_doc,
    update_is_known,
    update_is_plausible,
    write_var_uint,
)

uints = st.integers(min_value=0, max_value=2**53 - 1)
sync_messages = st.builds(SyncMessage, st.sampled_from([0, 1, 2]), st.binary(max_size=200))
messages = st.one_of(
    sync_messages, st.builds(AwarenessMessage, st.binary(max_size=200)), st.just(QueryAwarenessMessage())
)
json_states = st.one_of(
    st.none(),
    st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=20), st.booleans()), max_size=4).map(
        lambda d: __import__("json").dumps(d)
    ),
)


def test_it_encodes_varuints_like_lib0() -> None:
    assert write_var_uint(0) == b"\x00"
    assert write_var_uint(127) == b"\x7f"
    assert write_var_uint(128) == b"\x80\x01"
    assert write_var_uint(300) == b"\xac\x02"
    assert read_var_uint(b"\xac\x02", 0) == (300, 2)


def test_it_writes_the_y_websocket_message_layout() -> None:
    assert encode_sync_step1(b"\x00") == b"\x00\x00\x01\x00"
    assert encode_sync_step2(EMPTY_UPDATE) == b"\x00\x01\x02\x00\x00"
    assert encode_update(b"\x01") == b"\x00\x02\x01\x01"
    assert decode_message(b"\x03") == QueryAwarenessMessage()


@given(uints)
def test_it_round_trips_varuints(value: int) -> None:
    encoded = write_var_uint(value)
    assert read_var_uint(encoded, 0) == (value, len(encoded))


@given(messages)
def test_it_round_trips_messages(message) -> None:  # type: ignore[no-untyped-def]
    assert decode_message(encode_message(message)) == message


@given(st.lists(st.builds(AwarenessEntry, uints, uints, json_states), max_size=5))
def test_it_round_trips_awareness_updates(entries: list[AwarenessEntry]) -> None:
    assert decode_awareness_update(encode_awareness_update(entries)) == entries


@given(st.dictionaries(uints, uints, max_size=6))
def test_it_round_trips_state_vectors(vector: dict[int, int]) -> None:
    assert decode_state_vector(encode_state_vector(vector)) == vector


@settings(max_examples=2000)
@given(st.binary(max_size=300))
def test_it_raises_only_protocol_errors_on_random_bytes(data: bytes) -> None:
    for decode in (decode_message, decode_awareness_update, decode_state_vector):
        with contextlib.suppress(ProtocolError):  # anything else fails the test
            decode(data)


@settings(max_examples=500)
@given(messages, st.integers(min_value=0, max_value=400), st.binary(max_size=8))
def test_it_raises_only_protocol_errors_on_truncated_or_padded_messages(message, cut: int, tail: bytes) -> None:  # type: ignore[no-untyped-def]
    encoded = encode_message(message)
    for data in (encoded[:cut], encoded + tail):
        try:
            decode_message(data)
        except ProtocolError:
            assert data != encoded


def test_it_refuses_huge_varints() -> None:
    with pytest.raises(ProtocolError):
        read_var_uint(b"\xff" * 10 + b"\x01", 0)
    with pytest.raises(ProtocolError):
        decode_message(b"\x00\x02" + write_var_uint(2**40))
    assert not update_is_plausible(b"\x8d\xed\xd7\x78")  # 250 million clients in four bytes


def test_it_refuses_awareness_states_that_are_not_json_objects() -> None:
    for text in ("{oops", "[1]", '"a string"', "x" * 9000):
        raw = text.encode()
        with pytest.raises(ProtocolError):
            decode_awareness_update(b"\x01\x01\x00" + write_var_uint(len(raw)) + raw)


def edits(texts: list[str]) -> tuple[pycrdt.Doc, list[bytes]]:
    doc = pycrdt.Doc()
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    field = doc.get("f", type=pycrdt.Text)
    for i, text in enumerate(texts):
        # pycrdt indexes by UTF-8 byte: only the two ends are always on a character boundary.
        field.insert(0 if i % 2 else len(field), text)
        if i % 3 == 2:
            del field[0:1]
    return doc, updates


@given(st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=25))
def test_it_snapshots_and_rebuilds_to_the_same_document(texts: list[str]) -> None:
    doc, updates = edits(texts)
    half = len(updates) // 2
    snapshot = merge_for_snapshot(updates[:half])
    rebuilt, skipped = rebuild_doc([snapshot, *updates[half:], *updates[:2]])  # duplicates are harmless
    assert skipped == []
    assert str(rebuilt.get("f", type=pycrdt.Text)) == str(doc.get("f", type=pycrdt.Text))


def test_it_keeps_updates_waiting_for_a_dependency_in_a_snapshot() -> None:
    _doc, updates = edits(["a", "b", "c", "d"])
    snapshot = merge_for_snapshot(updates[1:])  # the first edit is missing: the rest is pending
    rebuilt, _ = rebuild_doc([snapshot, updates[0]])
    assert str(rebuilt.get("f", type=pycrdt.Text)) == str(_doc.get("f", type=pycrdt.Text))


def test_it_tells_duplicates_from_pending_updates() -> None:
    doc, updates = edits(["a", "b", "c"])
    assert update_is_known(updates[1], doc.get_state())
    assert not update_is_known(updates[1], pycrdt.Doc().get_state())


def test_it_skips_an_unreadable_row_instead_of_failing_the_room() -> None:
    doc, updates = edits(["a", "b"])
    rebuilt, skipped = rebuild_doc([*updates, b"\x01\x01\x00\x00"])
    assert skipped == [len(updates)]
    assert str(rebuilt.get("f", type=pycrdt.Text)) == str(doc.get("f", type=pycrdt.Text))
