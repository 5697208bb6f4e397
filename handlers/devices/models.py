"""Devices, their signals, the machine event log (PackML state intervals) and the anomaly log.

A device is one machine at one work center. Every signal an adapter receives is stored before it is
acknowledged; the device row holds the machine's current PackML state and normalized counters.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from taktflow.engine.store.models import Base

BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER primary keys only

DEFAULT_COUNTER_LIMIT = 2**32  # a 32-bit PLC counter rolls over to 0 after 4294967295


class Device(Base):
    __tablename__ = "device"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    work_center: Mapped[str] = mapped_column(String(64), index=True)
    ideal_cycle_seconds: Mapped[float] = mapped_column(Float)
    # Counter values are taken modulo this (the PLC counter's range); a drop near the top is a rollover.
    counter_limit: Mapped[int] = mapped_column(BigInteger, default=DEFAULT_COUNTER_LIMIT)
    # Transport addresses (any of them may be empty; HTTP needs none).
    mqtt_topic: Mapped[str | None] = mapped_column(String(300), unique=True)  # <site>/<area>/<line>/<machine>
    sparkplug_id: Mapped[str | None] = mapped_column(String(300), unique=True)  # <group>/<edge node>/<device>
    opcua_endpoint: Mapped[str | None] = mapped_column(String(300))
    opcua_namespace: Mapped[str | None] = mapped_column(String(300))

    # Current state (PackML number) and since when (machine time).
    state: Mapped[int] = mapped_column(Integer, default=0)
    state_since: Mapped[datetime | None] = mapped_column()
    online: Mapped[bool | None] = mapped_column(Boolean)
    stop_reason: Mapped[str | None] = mapped_column(String(200))
    # Last raw counter readings and the normalized totals since the device was registered.
    processed_raw: Mapped[int | None] = mapped_column(BigInteger)
    defective_raw: Mapped[int | None] = mapped_column(BigInteger)
    processed_total: Mapped[int] = mapped_column(BigInteger, default=0)
    defective_total: Mapped[int] = mapped_column(BigInteger, default=0)
    # Rejects counted but not yet reported with a cycle (defective and processed arrive as separate signals).
    scrap_unreported: Mapped[int] = mapped_column(BigInteger, default=0)
    # Sequences are stored as sequence_base + the machine's number; a birth (restart) moves the base on.
    last_sequence: Mapped[int | None] = mapped_column(BigInteger)
    sequence_base: Mapped[int] = mapped_column(BigInteger, default=0)
    born_at: Mapped[datetime | None] = mapped_column()
    last_signal_at: Mapped[datetime | None] = mapped_column()
    # The operation running on this machine now (set by the `devices.start_job` handler).
    job_operation_id: Mapped[str | None] = mapped_column(String(100))
    job_quantity: Mapped[int | None] = mapped_column(Integer)
    job_processed_start: Mapped[int] = mapped_column(BigInteger, default=0)
    job_defective_start: Mapped[int] = mapped_column(BigInteger, default=0)
    job_reached: Mapped[bool] = mapped_column(Boolean, default=False)
    # What `job_quantity` counts: "good" parts (default) or every part "processed" (good + rejects).
    job_quantity_basis: Mapped[str | None] = mapped_column(String(10))
    # Silence supervision of the job: `machine.silent` once when nothing happened (no cycle, no state change)
    # for `job_silence_seconds` since `job_active_at`; `job_silent_at` marks the silence period as reported.
    job_silence_seconds: Mapped[float | None] = mapped_column(Float)
    job_active_at: Mapped[datetime | None] = mapped_column()
    job_silent_at: Mapped[datetime | None] = mapped_column()
    # Parts counted while no job ran (since `unassigned_since`, until the next job starts): they belong to no
    # operation, so they stay out of OEE and the machine is flagged "counting without a job".
    unassigned_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    unassigned_since: Mapped[datetime | None] = mapped_column()


class DeviceSignal(Base):
    """Every accepted signal, applied or not (late ones are kept but do not move the current state)."""

    __tablename__ = "device_signal"
    __table_args__ = (
        # Duplicate detection by sequence is an index lookup; NULL sequences (no numbering) never collide.
        # One machine message (one sequence number) may carry one value of each kind.
        UniqueConstraint("device_id", "sequence", "kind", name="uq_device_signal_device_sequence"),
        Index("ix_device_signal_device_time", "device_id", "machine_ts"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("device.id"))
    kind: Mapped[str] = mapped_column(String(30))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    machine_ts: Mapped[datetime] = mapped_column()
    sequence: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column()
    source: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # applied | unassigned (counted with no job) | late | anomaly
    delta_count: Mapped[int | None] = mapped_column(BigInteger)  # parts this signal added (processed)
    delta_scrap: Mapped[int | None] = mapped_column(BigInteger)  # rejects this signal added (defective)
    messages: Mapped[list[Any]] = mapped_column(JSON, default=list)  # what was correlated, and to whom


class MachineEvent(Base):
    """The machine event log: one row per interval the machine spent in one PackML state (online or not)."""

    __tablename__ = "device_state_interval"
    __table_args__ = (Index("ix_device_state_interval_device_start", "device_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("device.id"))
    state: Mapped[int] = mapped_column(Integer)
    online: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()


class DeviceAnomaly(Base):
    """What was refused or not applied, and why (unknown device, impossible transition, duplicate, ...)."""

    __tablename__ = "device_anomaly"
    __table_args__ = (Index("ix_device_anomaly_device_at", "device_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_id: Mapped[str | None] = mapped_column(String(300))  # not a foreign key: unknown devices land here
    at: Mapped[datetime] = mapped_column()
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    signal: Mapped[dict[str, Any] | None] = mapped_column(JSON)
