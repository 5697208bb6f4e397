"""The demo plant's machines (the MES demo's work centers; ideal cycle times of its routings' last step)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from taktflow.handlers.devices.service import register_device

DEMO_SITE = "taktflow/demo/line1"  # <site>/<area>/<line>: the simulator's default topic prefix
DEMO_OPCUA = "opc.tcp://127.0.0.1:4840/taktflow/"  # `taktflow simulate machine --device PACK-01 --opcua`
DEMO_DEVICES = [  # id, work center, name, ideal cycle seconds
    ("CUT-01", "WC-CUT", "Laser cutter 1", 12.0),
    ("ASSY-01", "WC-ASSY", "Assembly cell 1", 30.0),
    ("PACK-01", "WC-PACK", "Packing line 1", 6.0),
]


def seed_devices(session: Session) -> None:
    """Idempotent: registering again only refreshes the definitions."""
    for device_id, work_center, name, cycle in DEMO_DEVICES:
        addresses = {"mqtt_topic": f"{DEMO_SITE}/{device_id}", "sparkplug_id": f"taktflow/edge1/{device_id}"}
        if device_id == "PACK-01":
            addresses["opcua_endpoint"] = DEMO_OPCUA
        register_device(session, device_id, work_center, name=name, ideal_cycle_seconds=cycle, **addresses)
