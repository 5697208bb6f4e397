"""The BPMN runtime around SpiffWorkflow: definitions, instances, tasks, events, jobs, history.

The engine knows nothing of ERP, MES or the web; those find it through this package's public
modules (`handlers` registry, `instances` commands, `events` correlation API).
"""

from taktflow.engine import spiff_patches

spiff_patches.install()
