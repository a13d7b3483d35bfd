"""The y-protocols wire format (sync and awareness) and a few Yjs update helpers.

Pure: pycrdt and the standard library only, no Django. Everything that decodes bytes coming from a
socket raises `ProtocolError` and nothing else, whatever the input (property-tested with hypothesis).

Message layout (lib0 encoding, as in y-protocols' sync.js and awareness.js):

    sync:            varUint(0) varUint(subtype) varUint8Array(payload)
                     subtype 0 = step 1 (payload: state vector), 1 = step 2 (update), 2 = update
    awareness:       varUint(1) varUint8Array(awarenessUpdate)
    auth:            varUint(2) ...            (server to client only; rejected from clients)
    query awareness: varUint(3)

    awarenessUpdate: varUint(n) then n x [varUint(clientID) varUint(clock) varString(JSON or "null")]

lib0's varUint is little-endian base-128 (7 bits per byte, high bit = "more bytes follow"); lib0
refuses numbers above 2**53 - 1 and so do we.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pycrdt

MSG_SYNC = 0
MSG_AWARENESS = 1
MSG_AUTH = 2
MSG_QUERY_AWARENESS = 3

SYNC_STEP1 = 0
SYNC_STEP2 = 1
SYNC_UPDATE = 2

MAX_SAFE_INTEGER = 2**53 - 1
# An awareness state is a small JSON object (name, colour, caret); anything bigger is abuse.
MAX_AWARENESS_STATE_BYTES = 8 * 1024
EMPTY_UPDATE = b"\x00\x00"


class ProtocolError(ValueError):
    """The bytes are not a well-formed message we accept. The message never contains user content."""


# --- lib0 primitives --------------------------------------------------------------------------


def write_var_uint(value: int) -> bytes:
    if value < 0 or value > MAX_SAFE_INTEGER:
        raise ValueError("varUint out of range")
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def write_var_bytes(data: bytes) -> bytes:
    return write_var_uint(len(data)) + data


def write_var_string(text: str) -> bytes:
    return write_var_bytes(text.encode("utf-8"))


def read_var_uint(buf: bytes, pos: int) -> tuple[int, int]:
    """Read one varUint at `pos`; return (value, next position)."""
    value = 0
    shift = 0
    length = len(buf)
    while True:
        if pos >= length:
            raise ProtocolError("unexpected end of message in a varUint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if value > MAX_SAFE_INTEGER or shift > 56:
            raise ProtocolError("varUint out of range")


def read_var_bytes(buf: bytes, pos: int) -> tuple[bytes, int]:
    length, pos = read_var_uint(buf, pos)
    end = pos + length
    if end > len(buf):
        raise ProtocolError("unexpected end of message in a byte array")
    return bytes(buf[pos:end]), end


def read_var_string(buf: bytes, pos: int) -> tuple[str, int]:
    raw, pos = read_var_bytes(buf, pos)
    try:
        return raw.decode("utf-8"), pos
    except UnicodeDecodeError:
        raise ProtocolError("string is not UTF-8") from None


# --- messages ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyncMessage:
    subtype: int  # SYNC_STEP1, SYNC_STEP2 or SYNC_UPDATE
    payload: bytes  # a state vector (step 1) or an update (step 2, update)


@dataclass(frozen=True, slots=True)
class AwarenessMessage:
    update: bytes  # an encoded awareness update; decode with decode_awareness_update


@dataclass(frozen=True, slots=True)
class QueryAwarenessMessage:
    pass


Message = SyncMessage | AwarenessMessage | QueryAwarenessMessage


def decode_message(frame: bytes) -> Message:
    """Decode one client frame. Trailing bytes, unknown types and auth messages are errors."""
    kind, pos = read_var_uint(frame, 0)
    if kind == MSG_SYNC:
        subtype, pos = read_var_uint(frame, pos)
        if subtype not in (SYNC_STEP1, SYNC_STEP2, SYNC_UPDATE):
            raise ProtocolError("unknown sync message type")
        payload, pos = read_var_bytes(frame, pos)
        message: Message = SyncMessage(subtype, payload)
    elif kind == MSG_AWARENESS:
        update, pos = read_var_bytes(frame, pos)
        message = AwarenessMessage(update)
    elif kind == MSG_QUERY_AWARENESS:
        message = QueryAwarenessMessage()
    else:
        raise ProtocolError("unknown or unexpected message type")
    if pos != len(frame):
        raise ProtocolError("trailing bytes after the message")
    return message


def encode_sync_step1(state_vector: bytes) -> bytes:
    return b"\x00\x00" + write_var_bytes(state_vector)


def encode_sync_step2(update: bytes) -> bytes:
    return b"\x00\x01" + write_var_bytes(update)


def encode_update(update: bytes) -> bytes:
    return b"\x00\x02" + write_var_bytes(update)


def encode_awareness(awareness_update: bytes) -> bytes:
    return b"\x01" + write_var_bytes(awareness_update)


def encode_query_awareness() -> bytes:
    return b"\x03"


def encode_message(message: Message) -> bytes:
    if isinstance(message, SyncMessage):
        return bytes((MSG_SYNC,)) + write_var_uint(message.subtype) + write_var_bytes(message.payload)
    if isinstance(message, AwarenessMessage):
        return encode_awareness(message.update)
    return encode_query_awareness()


# --- awareness ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    client_id: int
    clock: int
    state: str | None  # the JSON text of the state, None for "this client is gone"

    def parsed(self) -> object:
        return None if self.state is None else json.loads(self.state)


def decode_awareness_update(data: bytes) -> list[AwarenessEntry]:
    """Decode an awareness update; every state must be JSON (an object or null) of at most 8 KiB."""
    count, pos = read_var_uint(data, 0)
    if count > len(data):  # every entry takes at least three bytes: refuse absurd counts early
        raise ProtocolError("awareness entry count out of range")
    entries = []
    for _ in range(count):
        client_id, pos = read_var_uint(data, pos)
        clock, pos = read_var_uint(data, pos)
        raw, pos = read_var_bytes(data, pos)
        if len(raw) > MAX_AWARENESS_STATE_BYTES:
            raise ProtocolError("awareness state too big")
        try:
            text = raw.decode("utf-8")
            value = json.loads(text)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise ProtocolError("awareness state is not JSON") from None
        if value is not None and not isinstance(value, dict):
            raise ProtocolError("awareness state is not an object")
        entries.append(AwarenessEntry(client_id, clock, None if value is None else text))
    if pos != len(data):
        raise ProtocolError("trailing bytes after the awareness update")
    return entries


def encode_awareness_update(entries: list[AwarenessEntry]) -> bytes:
    out = bytearray(write_var_uint(len(entries)))
    for entry in entries:
        out += write_var_uint(entry.client_id)
        out += write_var_uint(entry.clock)
        out += write_var_string("null" if entry.state is None else entry.state)
    return bytes(out)


# --- Yjs updates ------------------------------------------------------------------------------


def decode_state_vector(data: bytes) -> dict[int, int]:
    """A Yjs state vector: varUint(n) then n x [varUint(client) varUint(clock)]."""
    count, pos = read_var_uint(data, 0)
    if count > len(data):
        raise ProtocolError("state vector length out of range")
    result = {}
    for _ in range(count):
        client, pos = read_var_uint(data, pos)
        clock, pos = read_var_uint(data, pos)
        result[client] = clock
    if pos != len(data):
        raise ProtocolError("trailing bytes after the state vector")
    return result


def encode_state_vector(vector: dict[int, int]) -> bytes:
    out = bytearray(write_var_uint(len(vector)))
    for client, clock in vector.items():
        out += write_var_uint(client) + write_var_uint(clock)
    return bytes(out)


def _delete_set_reach(ds_update: bytes) -> dict[int, int]:
    """For an update holding only a delete set, the highest clock (exclusive) it touches per client."""
    structs, pos = read_var_uint(ds_update, 0)
    if structs != 0:
        raise ProtocolError("expected a delete-set-only update")
    count, pos = read_var_uint(ds_update, pos)
    reach: dict[int, int] = {}
    for _ in range(count):
        client, pos = read_var_uint(ds_update, pos)
        ranges, pos = read_var_uint(ds_update, pos)
        for _ in range(ranges):
            clock, pos = read_var_uint(ds_update, pos)
            length, pos = read_var_uint(ds_update, pos)
            reach[client] = max(reach.get(client, 0), clock + length)
    return reach


def update_is_plausible(update: bytes) -> bool:
    """A cheap check before pycrdt sees the bytes.

    yrs sizes a hash map from the first varUint (the number of clients) before reading them, so
    five hostile bytes can cost a quarter of a second of CPU; a real update has fewer clients
    than bytes.
    """
    try:
        count, _pos = read_var_uint(update, 0)
    except ProtocolError:
        return False
    return count <= len(update)


def update_is_known(update: bytes, state_vector: bytes) -> bool:
    """True if every struct and every deletion of `update` lies inside `state_vector`.

    Together with "applying it changed nothing" this proves an update is a pure duplicate; if some
    part lies outside (a struct, or a deletion of an item not seen yet), pycrdt keeps it pending.
    (pycrdt.get_state(update) cannot answer this: like Yjs it only counts structs from clock 0.)
    """
    try:
        ours = decode_state_vector(state_vector)
        rest = pycrdt.get_update(update, state_vector)
        deletes = _delete_set_reach(rest)  # ProtocolError if any struct is left over
    except (ProtocolError, ValueError, RuntimeError):
        return False
    return all(clock <= ours.get(client, 0) for client, clock in deletes.items())


def merge_for_snapshot(updates: list[bytes]) -> bytes:
    """Merge a snapshot and log rows into one update that loses nothing.

    A fresh document drops deleted text (garbage collection) and so makes small snapshots, but it
    does not encode structs still waiting for a missing dependency; when anything is pending we keep
    the syntactic merge, which carries everything.
    """
    updates = [u for u in updates if u]
    if not updates:
        return EMPTY_UPDATE
    merged = pycrdt.merge_updates(*updates) if len(updates) > 1 else updates[0]
    doc = pycrdt.Doc()
    doc.apply_update(merged)
    compact = doc.get_update()
    if update_is_known(merged, doc.get_state()):
        return compact
    return merged


def rebuild_doc(updates: list[bytes]) -> tuple[pycrdt.Doc, list[int]]:
    """A document from a snapshot and log rows; returns it and the indexes of rows it had to skip.

    Rows were validated before they were stored, so the fast path (merge, apply once) nearly always
    works; should a row ever fail, the others are applied one by one so one bad row cannot make a
    worksheet unloadable.
    """
    doc = pycrdt.Doc()
    updates = [u for u in updates if u]
    if not updates:
        return doc, []
    try:
        merged = pycrdt.merge_updates(*updates) if len(updates) > 1 else updates[0]
        doc.apply_update(merged)
        return doc, []
    except (ValueError, RuntimeError):
        pass
    doc = pycrdt.Doc()
    skipped = []
    for index, update in enumerate(updates):
        try:
            doc.apply_update(update)
        except (ValueError, RuntimeError):
            skipped.append(index)
    return doc, skipped
