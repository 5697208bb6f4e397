"""Helpers shared by the tests."""

from __future__ import annotations

from pathlib import Path

from taktflow.engine.core import Engine
from taktflow.engine.definitions.service import DeployedDefinition, ModelFile, deploy

MODELS = Path(__file__).resolve().parent.parent / "models"


def model(name: str) -> ModelFile:
    return ModelFile(name, (MODELS / name).read_bytes())


def deploy_models(engine: Engine, *names: str | ModelFile) -> list[DeployedDefinition]:
    files = [n if isinstance(n, ModelFile) else model(n) for n in names]
    result = engine.command(lambda s: deploy(s, files, clock=engine.clock, serializer=engine.serializer))
    return result.definitions
