"""The middlewares of the backend: access log, access rules and CORS, error mapping.

Order (outermost first): ``access_log`` times every request and writes one line for it;
``access_guard`` applies the access rules (Host and Origin on a loopback bind, a bearer
token elsewhere) and CORS; ``error_mapper`` turns domain and adapter errors into JSON answers.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ecg_desktop.app.metrics import Metrics
from ecg_desktop.app.ports import JobStoreError, MLError, StorageError
from ecg_desktop.config.tokens import split_token
from ecg_desktop.domain import IllegalTransition, InvalidResult, JobNotFound

from .connections import BodyTooSlow
from .wire import error_answer

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("ecg_desktop.server.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CALLBACK_PATH = "/api/upload-video/result"
STORAGE_PREFIX = "/storage/"
# A handler records the job it served here, for the access log.
JOB_ID_KEY = web.RequestKey("job_id", str)
# The app's metrics, where the access log counts each request (http_requests_total).
METRICS_KEY = web.AppKey("metrics", Metrics)
# The name of the API token a request came with ("ana:..." -> "ana"), for job ownership.
CALLER_KEY = web.RequestKey("caller", str)
CORS_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type"
STORE_RETRY_AFTER_S = "2"
CLIENT_CLOSED_REQUEST = 499  # nginx's status for "the client closed the connection"


def error_json(status: int, detail: str, **extra: Any) -> web.Response:
    """An ``ErrorBody`` (``wire.py``, the declaration ``/openapi.json`` shows)."""
    return error_answer(status, {"detail": detail, **extra})


# -- access log ----------------------------------------------------------------------------


@web.middleware
async def access_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:  # a server that cancels handlers when the client hangs up
        status = CLIENT_CLOSED_REQUEST
        raise
    finally:
        latency_ms = (time.perf_counter() - started) * 1000
        metrics = request.app.get(METRICS_KEY)
        if metrics is not None:
            metrics.inc("http_requests_total", method=request.method,
                        route=_route_of(request), status=status)
        job_id = request.get(JOB_ID_KEY) or request.match_info.get("job_id", "-")
        # The path only: a signed storage URL's query string is a credential.
        access_logger.info(
            "method=%s path=%s status=%s latency_ms=%.1f job_id=%s remote=%s",
            request.method, _loggable_path(request.path), status, latency_ms, job_id,
            request.remote,
        )


def _route_of(request: web.Request) -> str:
    """The route's pattern (``/api/upload-video/status/{job_id}``), never the path itself: a
    label per job id or per probed path would grow without bound."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def _loggable_path(path: str) -> str:
    return path.replace(" ", "%20").replace("\n", "%0A")[:300]


# -- error mapping --------------------------------------------------------------------------


@web.middleware
async def error_mapper(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.content_type == "application/json" and exc.body:  # already a JSON answer
            return web.Response(status=exc.status, body=exc.body, headers=exc.headers)
        # aiohttp's own errors (unknown route, wrong method, body too large) as JSON too.
        response = error_json(exc.status, exc.reason)
        for name in ("Allow", "Retry-After"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except JobNotFound as exc:
        return error_json(404, str(exc))
    except IllegalTransition as exc:
        return error_json(409, str(exc))
    except InvalidResult as exc:
        return error_json(422, "invalid result", errors=exc.errors[:50])
    except StorageError as exc:
        logger.warning("storage failed on %s %s: %s", request.method, request.path, exc)
        return error_json(502, f"object storage failed: {exc}")
    except MLError as exc:
        return error_json(502, f"ML server failed: {exc}")
    except BodyTooSlow as exc:
        response = error_json(408, f"request body too slow: {exc}")
        response.force_close()
        return response
    except ConnectionError:
        # The client hung up mid-body. Nobody reads this answer (aiohttp drops it quietly);
        # it gives the access line its status, the only record of the hang-up.
        return web.Response(status=CLIENT_CLOSED_REQUEST)
    except JobStoreError as exc:
        logger.error("job store failed on %s %s: %s", request.method, request.path, exc)
        response = error_json(503, "the job store is unavailable")
        # The ML server retries a 5xx callback; the database is usually back within seconds.
        response.headers["Retry-After"] = STORE_RETRY_AFTER_S
        return response
    except Exception:
        logger.exception("unexpected error on %s %s", request.method, request.path)
        return error_json(500, "internal server error")


# -- access rules ----------------------------------------------------------------------------


def is_loopback_host(host: str) -> bool:
    """A bind address or a Host name that only this machine can reach."""
    name = host.strip().lower().rstrip(".")
    if name.startswith("[") and "]" in name:
        name = name[1:name.index("]")]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    host = host_header.strip()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@dataclass(frozen=True)
class AccessPolicy:
    """Who may call the API. ``loopback`` is true when the server listens on loopback only."""

    loopback: bool
    tokens: tuple[str, ...]
    cors_origins: tuple[str, ...]

    def caller(self, authorization: str) -> str | None:
        """The name of the token ``authorization`` carries ("" for an unnamed one), or None
        when it carries none of the configured tokens (see ``config.tokens``)."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or not token.isascii():
            return None  # tokens are ASCII; other bytes (even invalid UTF-8) match none
        offered = token.strip().encode()
        found = None
        # Compare with every token (no early exit) so timing says nothing about which matched.
        for configured in self.tokens:
            name, secret = split_token(configured)
            if secret and hmac.compare_digest(offered, secret.encode()):
                found = name
        return found

    def origin_allowed(self, origin: str, host_header: str) -> bool:
        if origin in self.cors_origins:
            return True
        # A page served from this very address (same origin) is the local user's.
        same = origin.split("://", 1)[-1].rstrip("/")
        return bool(host_header) and same == host_header.strip()


def _exempt_from_access_rules(path: str) -> bool:
    # The callback is protected by its signature, storage URLs by theirs.
    return path == CALLBACK_PATH or path.startswith(STORAGE_PREFIX)


def access_guard(policy: AccessPolicy) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin", "")
        exempt = _exempt_from_access_rules(request.path)
        if policy.loopback and not exempt:
            refusal = _loopback_refusal(policy, request, origin)
            if refusal is not None:
                return refusal
        if request.method == "OPTIONS" and origin:
            return _preflight(policy, origin)
        needs_token = not policy.loopback and not exempt and request.path != "/health"
        if needs_token:
            caller = policy.caller(request.headers.get("Authorization", ""))
            if caller is None:
                return _with_cors(policy, origin, _unauthorized())
            if caller:
                request[CALLER_KEY] = caller
        return _with_cors(policy, origin, await handler(request))

    return guard


def _loopback_refusal(
    policy: AccessPolicy, request: web.Request, origin: str
) -> web.Response | None:
    host_header = request.headers.get("Host", "")
    if host_header and not is_loopback_host(_host_name(host_header)):
        logger.warning("refused a request for host %r (not a loopback name)", host_header[:100])
        return error_json(403, "this server answers only to loopback host names")
    if origin and not policy.origin_allowed(origin, host_header):
        logger.warning("refused a browser request from origin %r", origin[:100])
        return error_json(403, "origin not allowed")
    return None


def _unauthorized() -> web.Response:
    response = error_json(401, "an API token is required: Authorization: Bearer <token>")
    response.headers["WWW-Authenticate"] = 'Bearer realm="ecg-desktop"'
    return response


def _preflight(policy: AccessPolicy, origin: str) -> web.Response:
    if origin not in policy.cors_origins:
        return error_json(403, "origin not allowed")
    response = web.Response(status=204)
    response.headers.update({
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": CORS_METHODS,
        "Access-Control-Allow-Headers": CORS_HEADERS,
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    })
    return response


def _with_cors(
    policy: AccessPolicy, origin: str, response: web.StreamResponse
) -> web.StreamResponse:
    if origin and origin in policy.cors_origins and not response.prepared:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


def middlewares(policy: AccessPolicy) -> Iterable[Any]:
    return (access_log, access_guard(policy), error_mapper)
