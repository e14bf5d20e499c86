"""The one place that picks concrete adapters and wires the use cases (see docs/architecture.md).

``build_core(settings)`` returns a ``Core``; every entry point (GUI, ``serve``, ``process``,
admin commands) builds one and closes it on exit.

OWNER: pipeline helper. This skeleton fixes the shape other parts code against; fill it in.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.ports import JobStore, MLClient, ObjectStorage
from ecg_desktop.config import Settings


@dataclass
class Core:
    settings: Settings
    store: JobStore
    storage: ObjectStorage
    ml_client: MLClient
    bus: EventBus
    # pipeline: JobPipeline  (app/pipeline.py)
    # callbacks: CallbackReceiver (app/callbacks.py)

    async def close(self) -> None:
        await self.ml_client.close()
        await self.storage.close()
        await self.store.close()


async def build_core(settings: Settings) -> Core:
    raise NotImplementedError("bootstrap is being built")
