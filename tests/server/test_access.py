"""Who may call the API (issue item 7) and what the access log keeps."""

from __future__ import annotations

import logging
import uuid

import pytest

from .conftest import SECRET, LiveFactory, ServerFactory, callback_body

TOKENS = ("token-of-ana", "token-of-bo")


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "192.168.1.20:8000",
                                  "localhost.evil.example", "127.0.0.1.nip.io"])
async def test_loopback_bind_refuses_foreign_host_names(make_server: ServerFactory,
                                                        host: str) -> None:
    server = await make_server()

    response = await server.client.get("/api/upload-video/jobs", headers={"Host": host})

    assert response.status == 403
    assert "loopback" in (await response.json())["detail"]


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1:8000", "[::1]:8000", "localhost",
                                  "app.localhost:8000"])
async def test_loopback_bind_answers_loopback_host_names(make_server: ServerFactory,
                                                         host: str) -> None:
    server = await make_server()

    response = await server.client.get("/api/upload-video/jobs", headers={"Host": host})

    assert response.status == 200


async def test_browser_requests_need_a_configured_origin(make_server: ServerFactory) -> None:
    server = await make_server(cors_origins=("http://localhost:3000",))

    foreign = await server.client.get("/api/upload-video/jobs",
                                      headers={"Origin": "https://evil.example"})
    allowed = await server.client.get("/api/upload-video/jobs",
                                      headers={"Origin": "http://localhost:3000"})
    no_origin = await server.client.get("/api/upload-video/jobs")

    assert foreign.status == 403
    assert "Access-Control-Allow-Origin" not in foreign.headers
    assert allowed.status == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert no_origin.status == 200
    assert "Access-Control-Allow-Origin" not in no_origin.headers


async def test_a_page_from_a_foreign_origin_cannot_create_jobs(make_server: ServerFactory) -> None:
    server = await make_server(rate_limit_per_minute=100)
    before = await server.snapshot()

    response = await server.client.post(
        "/api/upload-video/request-process", json={"fileKey": "videos/a/b.mp4"},
        headers={"Origin": "https://evil.example"})

    assert response.status == 403
    assert await server.snapshot() == before


async def test_cors_preflight_only_for_configured_origins(make_server: ServerFactory) -> None:
    server = await make_server(cors_origins=("http://localhost:3000",))
    ask = {"Access-Control-Request-Method": "POST"}

    allowed = await server.client.options("/api/upload-video/generate-url",
                                          headers={"Origin": "http://localhost:3000", **ask})
    refused = await server.client.options("/api/upload-video/generate-url",
                                          headers={"Origin": "https://evil.example", **ask})

    assert allowed.status == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert refused.status == 403


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Bearer ", "token-of-ana",
                                           "Basic dG9rZW4tb2YtYW5h"])
async def test_non_loopback_bind_refuses_calls_without_a_valid_token(
    make_server: ServerFactory, authorization: str | None
) -> None:
    server = await make_server(bind_host="0.0.0.0", api_tokens=TOKENS, rate_limit_per_minute=100)
    job = await server.add_job()
    headers = {"Authorization": authorization} if authorization else {}
    before = await server.snapshot()

    for method, path in (("GET", "/api/upload-video/jobs"),
                         ("GET", f"/api/upload-video/status/{job.job_id}"),
                         ("POST", "/api/upload-video/request-process"),
                         ("POST", "/api/upload-video/generate-url"),
                         ("DELETE", f"/api/upload-video/jobs/{job.job_id}"),
                         ("GET", "/metrics"), ("GET", "/openapi.json"),
                         ("GET", "/api/upload-video/ml-server/health")):
        response = await server.client.request(method, path, headers=headers,
                                                json={"fileKey": "videos/a/b.mp4"})
        assert response.status == 401, (method, path)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert await server.snapshot() == before


async def test_non_loopback_bind_accepts_each_configured_token(
    make_server: ServerFactory,
) -> None:
    server = await make_server(bind_host="0.0.0.0", api_tokens=TOKENS)
    job = await server.add_job()

    for token in TOKENS:
        response = await server.client.get(f"/api/upload-video/status/{job.job_id}",
                                           headers={"Authorization": f"Bearer {token}"})
        assert response.status == 200


async def test_non_loopback_bind_without_tokens_refuses_everything(
    make_server: ServerFactory,
) -> None:
    server = await make_server(bind_host="0.0.0.0", api_tokens=())

    response = await server.client.get("/api/upload-video/jobs",
                                       headers={"Authorization": "Bearer "})

    assert response.status == 401


async def test_callback_and_health_need_no_token_and_accept_any_host(
    make_server: ServerFactory,
) -> None:
    server = await make_server(bind_host="0.0.0.0", api_tokens=TOKENS)
    job = await server.add_job()

    callback = await server.callback(callback_body(job.job_id, progress=20),
                                     headers={"Host": "backend.lan:8000"})
    health = await server.client.get("/health")

    assert callback.status == 200
    assert health.status == 200
    loopback = await make_server()
    assert (await loopback.callback(callback_body(job.job_id, progress=30),
                                    headers={"Host": "host.docker.internal:8000"})).status == 200


async def test_non_loopback_bind_end_to_end_with_signed_storage_urls(
    make_live: LiveFactory,
) -> None:
    live = await make_live(host="0.0.0.0", api_tokens=TOKENS)
    auth = {"Authorization": f"Bearer {TOKENS[1]}"}

    async with live.http.post(live.url("/api/upload-video/generate-url"),
                              json={"filename": "a.mp4"}) as refused:
        assert refused.status == 401
    async with live.http.post(live.url("/api/upload-video/generate-url"), headers=auth,
                              json={"filename": "a.mp4"}) as response:
        answer = await response.json()
    # The signed storage URL is its own credential: no token.
    async with live.http.put(answer["presigned_url"], data=b"bytes") as put:
        assert put.status in (200, 201)
    tampered = answer["presigned_url"].replace("signature=", "signature=0")
    async with live.http.put(tampered, data=b"other") as put:
        assert put.status == 403


async def test_access_log_has_one_line_per_request_and_no_secrets(
    make_live: LiveFactory, caplog: pytest.LogCaptureFixture
) -> None:
    live = await make_live(api_tokens=TOKENS)
    caplog.set_level(logging.INFO, logger="ecg_desktop.server.access")
    async with live.http.post(live.url("/api/upload-video/generate-url"),
                              json={"filename": "a.mp4"}) as response:
        url = (await response.json())["presigned_url"]
    async with live.http.put(url, data=b"bytes") as put:
        assert put.status in (200, 201)
    job_id = uuid.uuid4()
    async with live.http.get(live.url(f"/api/upload-video/status/{job_id}"),
                             headers={"Authorization": f"Bearer {TOKENS[0]}"}) as response:
        assert response.status == 404

    lines = [r.getMessage() for r in caplog.records if r.name == "ecg_desktop.server.access"]
    assert len(lines) == 3
    assert lines[0].startswith("method=POST path=/api/upload-video/generate-url status=200")
    assert f"job_id={job_id}" in lines[2] and "status=404" in lines[2]
    assert all("latency_ms=" in line for line in lines)
    query = url.split("?", 1)[1]
    everything = caplog.text
    for secret in (query, SECRET, *TOKENS):
        assert secret not in everything


async def test_a_named_token_makes_its_holder_the_owner_of_uploads_and_jobs(
    make_live: LiveFactory,
) -> None:
    live = await make_live(host="0.0.0.0", user_name="backend",
                           api_tokens=("ana:token-of-ana", "token-without-a-name"),
                           rate_limit_per_minute=100)

    async def upload_and_process(token: str) -> tuple[str, str]:
        auth = {"Authorization": f"Bearer {token}"}
        async with live.http.post(live.url("/api/upload-video/generate-url"), headers=auth,
                                  json={"filename": "talk.mp4"}) as response:
            key = (await response.json())["file_key"]
            url = (await response.json())["presigned_url"]
        async with live.http.put(url, data=b"video bytes") as put:
            assert put.status in (200, 201)
        async with live.http.post(live.url("/api/upload-video/request-process"), headers=auth,
                                  json={"fileKey": key}) as response:
            job = await live.core.store.get(uuid.UUID((await response.json())["job_id"]))
        return key, job.owner

    named_key, named_owner = await upload_and_process("token-of-ana")
    unnamed_key, unnamed_owner = await upload_and_process("token-without-a-name")

    assert named_key.startswith("videos/ana/") and named_owner == "ana"
    assert unnamed_key.startswith("videos/backend/") and unnamed_owner == "backend"
    async with live.http.get(live.url("/api/upload-video/jobs"),
                             headers={"Authorization": "Bearer ana:token-of-ana"}) as response:
        assert response.status == 401  # the name is not part of the secret
