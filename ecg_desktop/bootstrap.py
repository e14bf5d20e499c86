"""The one place that picks concrete adapters and wires the use cases (see docs/architecture.md).

Every entry point (GUI, ``serve``, ``process``, admin commands) does::

    core = await build_core(settings)      # store, storage, ML client, use cases
    await core.start_server()              # the embedded backend (callbacks, /storage URLs)
    await core.start_services()            # recovery, callback watchdog, health monitor
    ...
    await core.close()                     # stops all of it, in reverse order

``build_core`` starts the bundled reference analyzer when ``MODEL_SERVER_URL`` is empty and
points the ML client at it; when that child process dies it is restarted and the jobs it was
working on are reconciled. Admin commands that only need the store may skip the last two steps.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ecg_desktop.app import big_results
from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.callbacks import CallbackReceiver
from ecg_desktop.app.health import HealthMonitor
from ecg_desktop.app.metrics import Metrics
from ecg_desktop.app.pipeline import JobPipeline, os_user_name
from ecg_desktop.app.ports import JobStore, LocalFiles, MLClient, ObjectStorage
from ecg_desktop.app.recovery import Recovery
from ecg_desktop.app.team import TeamSync, is_team_desktop
from ecg_desktop.config import ReadsSettings, Settings
from ecg_desktop.config.installation import installation_id
from ecg_desktop.domain.signatures import generate_secret
from ecg_desktop.media import inspect_media
from ecg_desktop.mlclient import EmbeddedAnalyzer, HttpMLClient, MLServerPool

# The languages the ML server in use can recognise, for the window's menus and ``process``
# (the bundled analyzer's installed models decide; another ML server decides for itself).
from ecg_desktop.mlclient.languages import language_problem as language_problem
from ecg_desktop.mlclient.languages import offered_languages as offered_languages

# A taken port, which the window and `serve` tell apart without importing the server.
from ecg_desktop.server.runner import PortInUseError as PortInUseError

if TYPE_CHECKING:
    from ecg_desktop.server.runner import EmbeddedServer
    from ecg_desktop.store import SqlJobStore

logger = logging.getLogger(__name__)

Closer = Callable[[], Awaitable[None]]

# Settings the running parts read at each use: changing one needs no restart (see
# ``Core.apply_live_settings``). The others are read when an adapter opens or a server binds.
LIVE_SETTINGS = frozenset({
    "ui_language", "default_language", "user_name", "model_server_url", "ml_api_timeout",
    "allow_unsigned_callbacks", "callback_body_limit", "callback_watchdog_s",
    # read by the window when a job is added or exported
    "min_speakers", "max_speakers", "subtitle_line_length", "subtitle_lines",
    "subtitle_max_duration", "export_folder",
})


class CallbackUrlUnknown(RuntimeError):
    """Neither ``FASTAPI_BASE_URL`` nor a running embedded server gives a callback address."""


@dataclass(eq=False)
class Core:
    settings: Settings
    store: JobStore
    storage: ObjectStorage
    ml_client: MLClient
    bus: EventBus
    metrics: Metrics
    pipeline: JobPipeline
    callbacks: CallbackReceiver
    health: HealthMonitor
    recovery: Recovery
    analyzer: EmbeddedAnalyzer | None = None  # when the bundled analyzer runs
    team: TeamSync | None = None  # live changes from the shared PostgreSQL store (team mode)
    server: EmbeddedServer | None = None
    _server_url: str | None = field(default=None, repr=False)
    _services_started: bool = field(default=False, repr=False)
    _warned_loopback: bool = field(default=False, repr=False)

    # -- addresses -------------------------------------------------------------------------

    @property
    def server_url(self) -> str | None:
        """Where the embedded backend listens (``None`` until ``start_server``)."""
        return self._server_url

    def callback_base_url(self) -> str:
        """What the ML server is told to call back: ``FASTAPI_BASE_URL`` when set (the
        address the ML server can reach), else the embedded server's own address."""
        if self.settings.fastapi_base_url:
            return self.settings.fastapi_base_url.rstrip("/")
        if self._server_url:
            self._warn_if_unreachable_from_ml_server()
            return self._server_url
        raise CallbackUrlUnknown(
            "no callback address: set FASTAPI_BASE_URL or start the embedded server"
        )

    def _warn_if_unreachable_from_ml_server(self) -> None:
        hosts = [urlsplit(url).hostname or "" for url in self.settings.model_server_urls]
        if self._warned_loopback or all(not h or _is_loopback(h) for h in hosts):
            return
        if _is_loopback(urlsplit(self._server_url or "").hostname or ""):
            self._warned_loopback = True
            logger.warning(
                "the ML server %s is on another machine but callbacks are sent to %s, which it "
                "cannot reach: set FASTAPI_BASE_URL to an address it can reach",
                self.settings.model_server_url,
                self._server_url,
            )

    @property
    def local_files(self) -> LocalFiles | None:
        """The local store's files, which the embedded server serves under ``/storage``
        (``None`` when the videos go to S3)."""
        from ecg_desktop.storage.local import LocalStorage

        return self.storage.filestore if isinstance(self.storage, LocalStorage) else None

    def storage_base_url(self) -> str:
        """The embedded server's address, for the local store's signed ``/storage`` URLs
        (empty until the server has started)."""
        return self._server_url or self.settings.fastapi_base_url.rstrip("/")

    # -- settings --------------------------------------------------------------------------

    def apply_live_settings(self, old: Settings, new: Settings) -> bool:
        """Apply the change from ``old`` to ``new`` to the running parts, when every changed
        setting is one of ``LIVE_SETTINGS``; ``False`` (nothing changed) when a restart is
        needed. An ML server URL set or cleared starts or stops the bundled analyzer, so
        only a move from one configured ML server to another is applied here."""
        changed = {f.name for f in fields(Settings) if getattr(old, f.name) != getattr(new, f.name)}
        if not changed <= LIVE_SETTINGS:
            return False
        if "model_server_url" in changed and (self.analyzer is not None
                                              or not new.model_server_url
                                              or _is_pool(old) != _is_pool(new)):
            return False
        # Only the changed fields: this core's settings may hold more (a generated secret).
        self.settings = self.settings.with_changes(**{name: getattr(new, name) for name in changed})
        for part in (self.pipeline, self.recovery, self.callbacks, self.ml_client):
            if isinstance(part, ReadsSettings):  # an ML client given by a test may not
                part.use_settings(self.settings)
        return True

    # -- life cycle ------------------------------------------------------------------------

    async def start_server(self, host: str | None = None, port: int | None = None) -> str:
        """Start the embedded backend (``bind_host``/``bind_port`` unless given; port 0 picks
        a free one) and return its base URL."""
        from ecg_desktop.server.app import create_app
        from ecg_desktop.server.runner import EmbeddedServer

        if self.server is not None:
            return self.server.base_url
        app = create_app(
            self, metrics=self.metrics, callbacks=self.callbacks, pipeline=self.pipeline
        )
        server = EmbeddedServer(app)
        await server.start(
            host if host is not None else self.settings.bind_host,
            port if port is not None else self.settings.bind_port,
        )
        self.server = server
        self._server_url = server.base_url
        return server.base_url

    async def start_services(self, *, health_interval_s: float = 15.0) -> None:
        """Recovery of unfinished jobs, the callback watchdog and the ML health monitor."""
        if self._services_started:
            return
        self._services_started = True
        if self.team is not None:
            await self.team.start()
        await self.recovery.recover()
        self.recovery.start_watchdog()
        self.health.start()

    async def close(self) -> None:
        """Stop everything this core started, newest first; safe to call twice."""
        steps: list[tuple[str, Closer]] = [
            *([("team sync", self.team.stop)] if self.team is not None else []),
            ("health monitor", self.health.stop),
            ("watchdog", self.recovery.stop_watchdog),
            ("pipeline", self.pipeline.close),
        ]
        if self.server is not None:
            steps.append(("embedded server", self.server.stop))
        if self.analyzer is not None:
            steps.append(("reference analyzer", self.analyzer.stop))
        steps += [
            ("callback worker", self.callbacks.close),
            ("ML client", self.ml_client.close),
            ("storage", self.storage.close),
            ("job store", self.store.close),
        ]
        for name, close in steps:
            try:
                await close()
            except Exception:
                logger.exception("stopping the %s failed", name)
        self.server = None
        self.analyzer = None


async def build_core(
    settings: Settings,
    *,
    store: JobStore | None = None,
    storage: ObjectStorage | None = None,
    ml_client: MLClient | None = None,
    start_analyzer: bool = True,
) -> Core:
    """Open the adapters ``settings`` select and wire the use cases.

    The keyword arguments replace an adapter (tests, benchmarks). With ``start_analyzer``
    false and no ``MODEL_SERVER_URL`` the ML client has no address until one is set.
    """
    holder: dict[str, Core] = {}
    opened: list[Closer] = []
    try:
        if store is None:
            from ecg_desktop.store import open_store

            store = await open_store(settings.effective_database_url)
            opened.append(store.close)
        if storage is None:
            from ecg_desktop.storage import open_storage

            storage = await asyncio.to_thread(
                open_storage, settings, lambda: _storage_base_url(holder)
            )
            opened.append(storage.close)
        analyzer: EmbeddedAnalyzer | None = None
        if ml_client is None and settings.team_token and is_team_desktop(settings):
            # A team desktop: the team backend dispatches for it (docs/team.md).
            ml_client = _backend_dispatcher(settings, store)
            opened.append(ml_client.close)
        embedded = ml_client is None and not settings.model_server_url and start_analyzer
        if embedded and not settings.webhook_secret_key:
            # The bundled analyzer and the callback receiver must share a secret; settings
            # loaded without the keyring have none, so this run uses a fresh one.
            settings = settings.with_changes(webhook_secret_key=generate_secret())
        if ml_client is None and _is_pool(settings):
            ml_client = MLServerPool(settings)  # several servers share the jobs
            opened.append(ml_client.close)
        if ml_client is None:
            client = HttpMLClient(settings)
            opened.append(client.close)
            ml_client = client
            if embedded:
                analyzer = await _start_analyzer(settings, client, holder)
                opened.append(analyzer.stop)
        bus = EventBus()
        metrics = Metrics()
        from ecg_desktop.store.job_locks import FileJobLocks

        pipeline = JobPipeline(
            settings,
            store,
            storage,
            ml_client,
            bus,
            metrics,
            callback_base_url_provider=lambda: holder["core"].callback_base_url(),
            inspect_media=inspect_media,
            locks=FileJobLocks(settings.data_dir / "running"),
            installation=installation_id(settings.data_dir),
        )
        # big results, callback or fetched: the worker process runs the use case's work
        from ecg_desktop.store.result_worker import ResultWorker

        result_worker = ResultWorker.for_store(store, initializer=big_results.warm_up)
        recovery = Recovery(settings, store, ml_client, pipeline, bus, metrics,
                            result_worker=result_worker)
        callbacks = CallbackReceiver(store, bus, settings, metrics, result_worker=result_worker)
        health = HealthMonitor(ml_client)
        team = _team_sync(store, bus, settings.effective_database_url,
                          viewer=settings.user_name or os_user_name())
    except BaseException:
        for close in reversed(opened):
            with contextlib.suppress(Exception):
                await close()
        raise
    core = Core(
        settings=settings,
        store=store,
        storage=storage,
        ml_client=ml_client,
        bus=bus,
        metrics=metrics,
        pipeline=pipeline,
        callbacks=callbacks,
        health=health,
        recovery=recovery,
        analyzer=analyzer,
        team=team,
    )
    holder["core"] = core
    return core


def _team_sync(
    store: JobStore, bus: EventBus, database_url: str, *, viewer: str = ""
) -> TeamSync | None:
    """Team mode: live changes through LISTEN/NOTIFY when the store is PostgreSQL."""
    from ecg_desktop.store import SqlJobStore
    from ecg_desktop.store.notify import JobChangeListener

    if not (isinstance(store, SqlJobStore) and store.is_postgresql):
        return None

    holder: list[TeamSync] = []

    def on_state(state: str) -> None:
        if holder:
            holder[0].on_listener_state(state)

    listener = JobChangeListener(database_url, on_state=on_state)
    if not listener.enabled:
        return None
    sync = TeamSync(store, bus, listener, viewer=viewer)
    holder.append(sync)
    return sync


def _backend_dispatcher(settings: Settings, store: JobStore) -> MLClient:
    from ecg_desktop.mlclient.backend import BackendDispatcher

    return BackendDispatcher(settings, store.get, installation=installation_id(settings.data_dir))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _storage_base_url(holder: dict[str, Core]) -> str:
    core = holder.get("core")
    return core.storage_base_url() if core is not None else ""


def _is_pool(settings: Settings) -> bool:
    """Several ML servers: the pool adapter (one server: the HTTP client)."""
    return len(settings.model_server_urls) > 1


async def _start_analyzer(
    settings: Settings, client: HttpMLClient, holder: dict[str, Core]
) -> EmbeddedAnalyzer:
    """Start the bundled analyzer as a child process and point ``client`` at it."""

    async def restarted(url: str) -> None:
        client.set_base_url(url)
        core = holder.get("core")
        if core is not None:
            logger.warning("the reference analyzer was restarted; reconciling its jobs")
            await core.recovery.recover()

    analyzer = EmbeddedAnalyzer(settings, on_restart=restarted)
    await analyzer.start()
    client.set_base_url(analyzer.url)
    return analyzer


async def open_job_store(url: str, *, migrate: bool = True) -> SqlJobStore:
    """The job store alone, for the commands that need nothing else (``jobs``, ``db``,
    ``export``, ``team status``, the Settings dialog's test button): the same adapter
    ``build_core`` opens, without storage, ML client or servers. ``migrate=False`` opens a
    store without changing its schema."""
    from ecg_desktop.store import open_store

    return await open_store(url, migrate=migrate)
