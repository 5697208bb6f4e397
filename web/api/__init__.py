"""REST API under /api/v1 for systems that start and drive instances."""

from fastapi import APIRouter

from taktflow.web.api import definitions, events, external_tasks, incidents, instances, tasks

router = APIRouter(prefix="/api/v1")
for module in (definitions, instances, tasks, events, external_tasks, incidents):
    router.include_router(module.router)
