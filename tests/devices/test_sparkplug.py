"""The hand-written Sparkplug B codec against protobuf bytes worked out from the Sparkplug .proto."""

from __future__ import annotations

import pytest

from taktflow.handlers.devices.adapters import sparkplug as sp


def test_encodes_the_protobuf_wire_format():
    payload = sp.Payload(seq=1, metrics=[sp.Metric("a", 5, sp.UINT64)])
    # field 2 (metrics, length 7): name "a" (0a 01 61), datatype 8 (20 08), long_value 5 (58 05); field 3 seq 1.
    assert sp.encode(payload) == bytes.fromhex("1207 0a0161 2008 5805 1801".replace(" ", ""))


def test_round_trips_the_types_machines_send():
    metrics = [sp.Metric("Status/StateCurrent", 6, sp.INT32), sp.Metric("Admin/ProdProcessedCount", 2**40, sp.UINT64),
               sp.Metric("offset", -5, sp.INT32), sp.Metric("Admin/StopReason", "jam", sp.STRING),
               sp.Metric("Admin/MachDesignSpeed", 30.5, sp.DOUBLE), sp.Metric("ratio", 0.5, sp.FLOAT),
               sp.Metric("ok", True, sp.BOOLEAN), sp.Metric("unset", None, sp.INT32, alias=7)]
    decoded = sp.decode(sp.encode(sp.Payload(timestamp=1767600000000, seq=255, metrics=metrics)))
    assert (decoded.timestamp, decoded.seq) == (1767600000000, 255)
    assert [(m.name, m.value) for m in decoded.metrics] == [
        ("Status/StateCurrent", 6), ("Admin/ProdProcessedCount", 2**40), ("offset", -5), ("Admin/StopReason", "jam"),
        ("Admin/MachDesignSpeed", 30.5), ("ratio", 0.5), ("ok", True), ("unset", None)]
    assert decoded.metrics[-1].alias == 7 and decoded.metrics[-1].is_null


def test_truncated_payload_is_a_decode_error():
    data = sp.encode(sp.Payload(seq=3, metrics=[sp.Metric("a", 5, sp.UINT64)]))
    with pytest.raises(sp.DecodeError):
        sp.decode(data[:-3])
