"""The benchmark handlers in the process-wide registry, for `taktflow serve` processes the benchmarks start."""

from __future__ import annotations

from bench.common import handler_line, handler_step
from taktflow.engine.handlers import registry

registry.register("bench.step", handler_step)
registry.register("bench.line", handler_line)
