"""The compact framing of metric arrays in ``metrics`` records (ARCHITECTURE.md, "Metric framing").

Each of a series' four arrays (``steps`` int64, ``values`` float64, ``timestamps`` int64 ms,
``epochs`` int32, all little-endian, ``n`` elements) is one of:

- ``{"start": s}``: s, s + 1, ..., s + n - 1 (steps the kernel numbered);
- ``{"same": v}``: n times v (one epoch for the whole batch);
- ``{"zlib": bytes}``: the raw array, zlib-compressed (level 1);
- ``bytes``: the raw array, when compression does not make it smaller (and every array of older
  journals).

Integers beyond ±(2**53 - 1) are decimal strings, as JSON readers in JavaScript hold doubles.
In the journal the bytes are base64 text; over the comm they travel as binary buffers. The
compression runs on the journal thread: ``zlib.compress`` releases the GIL (base64 does not, and
every byte it need not encode is GIL time given back to the loop that logs).
"""

from __future__ import annotations

import base64
import binascii
import struct
import sys
import zlib
from array import array
from typing import Any

ARRAY_FIELDS = {"steps": "q", "values": "d", "timestamps": "q", "epochs": "i"}
ZLIB_LEVEL = 1
# The same bound the TypeScript reader checks: no writer puts more points of one series in a record.
MAX_BATCH_POINTS = 1 << 20
_SAFE_INTEGER = 2**53 - 1
_LITTLE_ENDIAN = sys.byteorder == "little"
_INT32 = struct.Struct("<i")


def exact_integer(value: int) -> int | str:
    """An integer as JSON holds it exactly for every reader: a number, else its decimal digits."""
    return value if -_SAFE_INTEGER <= value <= _SAFE_INTEGER else str(value)


# A large array whose first bytes zlib shrinks by less than this is stored raw: float64 values with
# random low bits shrink by about 5 % at 45 ns a byte of journal-thread CPU.
_PROBE_BYTES = 16 << 10
_PROBE_MIN_SAVING = 0.1


def packed(raw: bytes) -> bytes | dict[str, bytes]:
    """A raw little-endian array in its smaller form: zlib-compressed, or as it is."""
    if len(raw) > 4 * _PROBE_BYTES:
        probe = zlib.compress(raw[:_PROBE_BYTES], ZLIB_LEVEL)
        if len(probe) > (1 - _PROBE_MIN_SAVING) * _PROBE_BYTES:
            return raw
    compressed = zlib.compress(raw, ZLIB_LEVEL)
    return {"zlib": compressed} if len(compressed) < len(raw) else raw


def consecutive(start: int) -> dict[str, int | str]:
    return {"start": exact_integer(start)}


def epochs_field(raw: bytes, count: int) -> bytes | dict[str, Any]:
    """Epochs (little-endian int32): one value for the batch in most batches."""
    first = raw[: _INT32.size]
    if raw == first * count:
        return {"same": _INT32.unpack(first)[0]}
    return packed(raw)


class FramingError(ValueError):
    """A metric array that is not one of the forms above, or not ``n`` elements long."""


def _integer(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise FramingError(f'array "{field}": expected an integer')
    try:
        return int(value)
    except ValueError:
        raise FramingError(f'array "{field}": expected an integer, got {value!r}') from None


def decode_array(value: object, field: str, count: int) -> array:
    """One array of a series as read from a journal line (bytes as base64 text)."""
    typecode = ARRAY_FIELDS[field]
    out = array(typecode)
    try:
        if isinstance(value, dict) and len(value) == 1 and typecode != "d":
            if "start" in value:
                start = _integer(value["start"], field)
                out.extend(range(start, start + count))
                return out
            if "same" in value:
                out.extend([_integer(value["same"], field)] * count)
                return out
        if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("zlib"), str):
            raw = zlib.decompress(base64.b64decode(value["zlib"], validate=True))
        elif isinstance(value, str):
            raw = base64.b64decode(value, validate=True)
        else:
            raise FramingError(f'array "{field}": not one of the metric array forms')
    except (OverflowError, binascii.Error, zlib.error) as error:
        raise FramingError(f'array "{field}": {error}') from None
    if len(raw) != count * out.itemsize:
        raise FramingError(f'array "{field}" has {len(raw)} bytes, expected {count * out.itemsize}')
    out.frombytes(raw)
    if out.itemsize > 1 and not _LITTLE_ENDIAN:
        out.byteswap()
    return out


def decode_series(series: dict[str, Any]) -> dict[str, array]:
    """The four arrays of one journal ``metrics`` series, in any of the forms above."""
    count = series["n"]
    if not isinstance(count, int) or not 0 <= count <= MAX_BATCH_POINTS:
        raise FramingError(f"n must be a count up to {MAX_BATCH_POINTS}, got {count!r}")
    return {field: decode_array(series[field], field, count) for field in ARRAY_FIELDS}


def series_from_journal(series: dict[str, Any]) -> dict[str, Any]:
    """A journal line's series in the form the writer hands its listeners (bytes, not base64 text),
    framing kept as it is: what the kernel forwards of a rank journal's line over the comm."""
    out = dict(series)
    for field in ARRAY_FIELDS:
        value = series.get(field)
        try:
            if isinstance(value, str):
                out[field] = base64.b64decode(value, validate=True)
            elif isinstance(value, dict) and len(value) == 1 and isinstance(value.get("zlib"), str):
                out[field] = {"zlib": base64.b64decode(value["zlib"], validate=True)}
        except binascii.Error as error:
            raise FramingError(f'array "{field}": {error}') from None
    return out
