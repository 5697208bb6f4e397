"""Machines: signal adapters (MQTT, Sparkplug B, OPC UA, HTTP), PackML state, machine event log, OEE."""

from taktflow.handlers.devices import handlers as handlers  # noqa: F401 - registers devices.start_job/end_job
