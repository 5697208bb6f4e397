"""Transports that feed machine signals in: MQTT (plain topics and Sparkplug B) and OPC UA; HTTP is a route.

Every adapter maps the PackTags it reads onto the normalized signal kinds below.
"""

from __future__ import annotations

# PackML tag (OPC UA browse name / MQTT topic tail / Sparkplug metric, "/" or "." separated) → signal kind.
PACKML_TAGS: dict[str, str] = {
    "Status.StateCurrent": "state",
    "Admin.ProdProcessedCount": "processed",
    "Admin.ProdDefectiveCount": "defective",
    "Admin.StopReason": "stop_reason",
    "Admin.MachDesignSpeed": "design_speed",
}


def kind_of(tag: str) -> str | None:
    """The signal kind of a PackML tag name, or None for a tag we do not read."""
    return PACKML_TAGS.get(tag.replace("/", ".").strip("."))
