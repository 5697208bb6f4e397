"""Sparkplug B payloads (protobuf) encoded and decoded by hand: the PyPI Sparkplug libraries pin paho-mqtt<2.

Only what machine signals need: Payload {timestamp, metrics, seq} and Metric {name, alias, timestamp,
datatype, value}; datasets, templates, properties and metadata are skipped when decoding.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

# Sparkplug B DataType numbers (Sparkplug_6_Payloads: "DataType" enum).
INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64, FLOAT, DOUBLE, BOOLEAN, STRING, DATETIME, TEXT = range(1, 15)
_SIGNED_BITS = {INT8: 8, INT16: 16, INT32: 32, INT64: 64}
_INT_FIELD = {INT8: 10, INT16: 10, INT32: 10, UINT8: 10, UINT16: 10, UINT32: 10,
              INT64: 11, UINT64: 11, DATETIME: 11}


@dataclass
class Metric:
    name: str | None
    value: Any
    datatype: int
    alias: int | None = None
    timestamp: int | None = None  # ms since the epoch
    is_null: bool = False


@dataclass
class Payload:
    timestamp: int | None = None
    seq: int | None = None
    metrics: list[Metric] = field(default_factory=list)


class DecodeError(ValueError):
    pass


# --- wire format ------------------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise DecodeError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise DecodeError("varint too long")


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, raw value) of every field of one message."""
    fields = []
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _read_varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise DecodeError(f"unsupported wire type {wire}")
        if pos > len(data):
            raise DecodeError("truncated field")
        fields.append((number, wire, value))
    return fields


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


# --- encode -----------------------------------------------------------------------------------------------


def _metric_bytes(metric: Metric) -> bytes:
    out = bytearray()
    if metric.name is not None:
        raw = metric.name.encode()
        out += _key(1, 2) + _varint(len(raw)) + raw
    if metric.alias is not None:
        out += _key(2, 0) + _varint(metric.alias)
    if metric.timestamp is not None:
        out += _key(3, 0) + _varint(metric.timestamp)
    out += _key(4, 0) + _varint(metric.datatype)
    if metric.is_null or metric.value is None:
        return bytes(out + _key(7, 0) + _varint(1))
    kind = metric.datatype
    if kind in _INT_FIELD:
        number = _INT_FIELD[kind]
        bits = 32 if number == 10 else 64
        out += _key(number, 0) + _varint(int(metric.value) & ((1 << bits) - 1))
    elif kind == FLOAT:
        out += _key(12, 5) + struct.pack("<f", float(metric.value))
    elif kind == DOUBLE:
        out += _key(13, 1) + struct.pack("<d", float(metric.value))
    elif kind == BOOLEAN:
        out += _key(14, 0) + _varint(1 if metric.value else 0)
    elif kind in (STRING, TEXT):
        raw = str(metric.value).encode()
        out += _key(15, 2) + _varint(len(raw)) + raw
    else:
        raise ValueError(f"datatype {kind} is not supported")
    return bytes(out)


def encode(payload: Payload) -> bytes:
    out = bytearray()
    if payload.timestamp is not None:
        out += _key(1, 0) + _varint(payload.timestamp)
    for metric in payload.metrics:
        raw = _metric_bytes(metric)
        out += _key(2, 2) + _varint(len(raw)) + raw
    if payload.seq is not None:
        out += _key(3, 0) + _varint(payload.seq)
    return bytes(out)


# --- decode -----------------------------------------------------------------------------------------------


def _metric(data: bytes) -> Metric:
    metric = Metric(name=None, value=None, datatype=0)
    raw_int: int | None = None
    for number, _wire, value in _fields(data):
        if number == 1:
            metric.name = value.decode("utf-8", "replace")
        elif number == 2:
            metric.alias = value
        elif number == 3:
            metric.timestamp = value
        elif number == 4:
            metric.datatype = value
        elif number == 7:
            metric.is_null = bool(value)
        elif number in (10, 11):
            raw_int = value
        elif number == 12:
            metric.value = struct.unpack("<f", value)[0]
        elif number == 13:
            metric.value = struct.unpack("<d", value)[0]
        elif number == 14:
            metric.value = bool(value)
        elif number == 15:
            metric.value = value.decode("utf-8", "replace")
    if raw_int is not None:
        bits = _SIGNED_BITS.get(metric.datatype)
        metric.value = _signed(raw_int, bits) if bits else raw_int
    if metric.is_null:
        metric.value = None
    return metric


def decode(data: bytes) -> Payload:
    payload = Payload()
    for number, wire, value in _fields(data):
        if number == 1 and wire == 0:
            payload.timestamp = value
        elif number == 2 and wire == 2:
            payload.metrics.append(_metric(value))
        elif number == 3 and wire == 0:
            payload.seq = value
    return payload
