"""The request schemas served at ``/openapi.json`` and the server's validation agree: a body the
served schema allows is never refused with field errors, and a JSON body it refuses always is
(400 with ``errors``), for every field the schema requires and for bodies generated from the
schema itself, valid and invalid (schemathesis), against a real backend over HTTP."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import jsonschema_rs
import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode

from ecg_desktop.domain import Job, JobStatus, Stage
from ecg_desktop.server.wire import callback_answer, error_answer

from .conftest import Live, LiveFactory, ServerFactory, callback_body

GENERATE_URL = "/api/upload-video/generate-url"
REQUEST_PROCESS = "/api/upload-video/request-process"
EXAMPLES_PER_MODE = 120


async def _served_document(live: Live) -> dict[str, Any]:
    # Not kept alive: generating bodies from it can outlast the server's idle timeout, and the
    # next request would race the server closing the connection.
    async with live.http.get(live.url("/openapi.json"),
                             headers={"Connection": "close"}) as response:
        assert response.status == 200
        return dict(await response.json())


def _request_schema(document: dict[str, Any], path: str) -> dict[str, Any]:
    """The schema of ``path``'s body, resolved against the document's components."""
    schema = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    return {**schema["schema"], "components": document["components"]}


def _component(document: dict[str, Any], path: str) -> dict[str, Any]:
    reference = _request_schema(document, path)["$ref"]
    return dict(document["components"]["schemas"][reference.rsplit("/", 1)[-1]])


def _allows(schema: dict[str, Any], body: Any) -> bool:
    return bool(jsonschema_rs.validator_for(schema, validate_formats=True).is_valid(body))


def _required_names(component: dict[str, Any]) -> set[str]:
    """The keys the schema requires: always, or as one of the alternatives of an ``anyOf``."""
    names = set(component.get("required", []))
    for branch in component.get("anyOf", []):
        names.update(branch.get("required", []))
    return names


async def _post(live: Live, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with live.http.post(live.url(path), data=raw,
                              headers={"Content-Type": "application/json"}) as response:
        return response.status, await response.json(content_type=None)


def _refused_by_validation(status: int, answer: dict[str, Any]) -> bool:
    return status == 400 and "errors" in answer


async def _uploaded_key(live: Live) -> str:
    status, answer = await _post(live, GENERATE_URL, {"filename": "talk.mp4"})
    assert status == 200, answer
    async with live.http.put(answer["presigned_url"], data=b"the video") as put:
        assert put.status in (200, 201)
    return str(answer["file_key"])


async def _accepted_bodies(live: Live) -> dict[str, list[dict[str, Any]]]:
    """For each route, bodies the server takes (200), one for each way of naming the job."""
    key = await _uploaded_key(live)
    team_job = Job.new(filename="talk.mp4", file_key=key, stage=Stage.UPLOADED, owner="ana")
    await live.core.store.add(team_job)
    return {
        GENERATE_URL: [{"filename": "talk.mp4", "content_type": "video/mp4"}],
        REQUEST_PROCESS: [{"fileKey": key, "language": "en"},
                          {"file_key": key, "language": " KO "},
                          {"job_id": str(team_job.job_id), "fileKey": key}],
    }


async def test_every_required_field_of_the_served_schema_is_refused_when_missing(
    make_live: LiveFactory,
) -> None:
    live = await make_live(rate_limit_per_minute=100_000)
    document = await _served_document(live)
    refusals = 0

    for path, bodies in (await _accepted_bodies(live)).items():
        schema, required = _request_schema(document, path), _required_names(
            _component(document, path))
        assert required, path
        for body in bodies:
            assert _allows(schema, body), (path, body)
            for name in required & set(body):
                without = {k: v for k, v in body.items() if k != name}
                if _allows(schema, without):  # another key names the job: still accepted
                    status, answer = await _post(live, path, without)
                    assert not _refused_by_validation(status, answer), (path, without, answer)
                    continue
                status, answer = await _post(live, path, without)
                assert _refused_by_validation(status, answer), (path, without, answer)
                assert answer["errors"][0]["loc"][:1] == ["body"]
                assert answer["errors"][0]["loc"][1] in required, answer
                refusals += 1
            status, answer = await _post(live, path, body)
            assert status == 200, (path, body, answer)

    assert refusals >= 3  # filename; fileKey and file_key when they alone name the video
    assert await live.core.store.count() >= 3  # the accepted bodies made or sent jobs


def _generated_bodies(document: dict[str, Any], path: str, mode: GenerationMode) -> list[Any]:
    """Bodies schemathesis generates from the served description of ``path``."""
    operation = schemathesis.openapi.from_dict(document)[path]["POST"]
    bodies: list[Any] = []

    @settings(max_examples=EXAMPLES_PER_MODE, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def collect(case: Any) -> None:
        bodies.append(case.body)

    collect()
    return bodies


def _as_json(body: Any) -> tuple[bool, Any]:
    """Whether ``body`` is JSON (negative generation also sends raw bytes), and its value."""
    if not isinstance(body, bytes):
        return True, body
    try:
        return True, json.loads(body)
    except ValueError:
        return False, None


@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("path", [GENERATE_URL, REQUEST_PROCESS])
async def test_bodies_generated_from_the_served_schema_are_judged_as_the_schema_judges(
    make_live: LiveFactory, path: str, mode: GenerationMode
) -> None:
    live = await make_live(rate_limit_per_minute=100_000)
    document = await _served_document(live)
    schema = _request_schema(document, path)
    verdicts = {True: 0, False: 0}

    for body in _generated_bodies(document, path, mode):
        is_json, value = _as_json(body)
        status, answer = await _post(live, path, body)
        assert status < 500, (body, status, answer)
        if not is_json:
            assert (status, answer["detail"]) == (400, "the body must be JSON"), (body, answer)
            continue
        allowed = _allows(schema, value)
        verdicts[allowed] += 1
        assert _refused_by_validation(status, answer) is not allowed, (value, status, answer)

    wanted = mode is GenerationMode.POSITIVE
    assert verdicts[wanted] >= EXAMPLES_PER_MODE // 2, verdicts


REFUSED = [  # (route, body, the seed's detail, the field named)
    (GENERATE_URL, {}, "filename is required", "filename"),
    (GENERATE_URL, {"filename": "   "}, "filename is required", "filename"),
    (GENERATE_URL, {"filename": 5}, "filename is required", "filename"),
    (GENERATE_URL, {"filename": "a.mp4", "content_type": 12}, "content_type must be a string",
     "content_type"),
    (REQUEST_PROCESS, {}, "fileKey is required", "fileKey"),
    (REQUEST_PROCESS, {"fileKey": None, "language": "en"}, "fileKey is required", "fileKey"),
    (REQUEST_PROCESS, {"fileKey": " \t"}, "fileKey is required", "fileKey"),
    (REQUEST_PROCESS, {"job_id": "not-a-uuid"}, "job_id must be a UUID", "job_id"),
    (REQUEST_PROCESS, {"fileKey": "videos/a.mp4", "language": "klingon"},
     "language must be auto or an ISO 639-1 code", "language"),
    (REQUEST_PROCESS, [], "the body must be a JSON object", None),
    (GENERATE_URL, "filename", "the body must be a JSON object", None),
]


async def test_a_refused_body_gets_the_seed_detail_the_field_and_changes_nothing(
    make_live: LiveFactory,
) -> None:
    live = await make_live(rate_limit_per_minute=100_000)

    for path, body, detail, field in REFUSED:
        status, answer = await _post(live, path, body)
        assert (status, answer["detail"]) == (400, detail), (body, answer)
        [error] = answer["errors"]
        assert error["loc"] == ["body"] + ([field] if field else []), (body, answer)
        assert error["msg"]

    assert await live.core.store.count() == 0


async def test_bodies_in_utf16_or_with_a_lone_surrogate_are_read_as_before(
    make_live: LiveFactory,
) -> None:
    live = await make_live(rate_limit_per_minute=100_000)
    utf16 = json.dumps({"filename": "talk.mp4"}).encode("utf-16")
    surrogate = b'{"filename": "talk\\udc80.mp4"}'  # valid JSON no database can store
    missing_key = json.dumps({"fileKey": "videos/anonymous/talk\udc80.mp4"}).encode()

    for raw, name in ((utf16, "_talk.mp4"), (surrogate, "_talk_.mp4")):  # U+FFFD: unsafe
        status, answer = await _post(live, GENERATE_URL, raw)
        assert status == 200, answer
        assert answer["file_key"].endswith(name), answer
    status, answer = await _post(live, REQUEST_PROCESS, missing_key)

    assert (status, answer["detail"]) == (
        404, "no object 'videos/anonymous/talk\ufffd.mp4' in storage")
    assert await live.core.store.count() == 0


def _answer_schema(document: dict[str, Any], path: str, method: str, status: int) -> Any:
    answer = document["paths"][path][method]["responses"][str(status)]
    return {**answer["content"]["application/json"]["schema"],
            "components": document["components"]}


async def test_the_answers_of_a_completed_job_match_the_served_schemas(
    make_live: LiveFactory,
) -> None:
    live = await make_live()
    document = await _served_document(live)
    key = await _uploaded_key(live)
    status, started = await _post(live, REQUEST_PROCESS, {"fileKey": key})
    assert status == 200, started
    status_path = f"/api/upload-video/status/{started['job_id']}"
    for _ in range(200):
        async with live.http.get(live.url(status_path)) as response:
            detail = await response.json()
        if detail["status"] == "completed":
            break
        await asyncio.sleep(0.05)
    answers = {("/api/upload-video/status/{job_id}", status_path): detail}
    for path in ("/api/upload-video/jobs", "/health", "/api/upload-video/ml-server/health"):
        async with live.http.get(live.url(path)) as response:
            assert response.status == 200
            answers[(path, path)] = await response.json()

    assert detail["status"] == "completed" and detail["result"]["segments"]
    assert detail["created_at"].endswith("Z")
    for (path, _), answer in answers.items():
        schema = _answer_schema(document, path, "get", 200)
        assert _allows(schema, answer), (path, answer)
    assert _allows(_answer_schema(document, REQUEST_PROCESS, "post", 200), started)


CALLBACK = "/api/upload-video/result"


async def test_every_kind_of_callback_answer_matches_the_served_schema(
    make_server: ServerFactory,
) -> None:
    """The callback route's answers (taken, duplicate, final, and each refusal) are built
    from the declarations /openapi.json serves, so a client generated from it reads them."""
    server = await make_server()
    document = (await (await server.client.get("/openapi.json")).json())
    job = await server.add_job()
    ended = await server.add_job(JobStatus.FAILED)
    progress = callback_body(job.job_id, progress=10)

    answers = [
        await server.callback(progress, msg_id="msg_once", scheme="webhook"),
        await server.callback(progress, msg_id="msg_once", scheme="webhook"),  # again
        await server.callback(callback_body(ended.job_id, progress=20)),
        await server.callback(progress, secret="not-the-secret"),
        await server.callback(callback_body(job.job_id, progress=250)),
        await server.callback(callback_body(uuid.uuid4(), progress=5)),
        await server.callback({"fileKey": "videos/x.mp4"},
                              headers={"Origin": "http://localhost:3000"}),
    ]

    seen = {}
    for response in answers:
        body = await response.json()
        schema = _answer_schema(document, CALLBACK, "post", response.status)
        assert _allows(schema, body), (response.status, body)
        seen[response.status] = body
    assert [r.status for r in answers] == [200, 200, 200, 401, 422, 404, 422]
    assert seen[422]["correct_endpoint"]  # the front end is told where it meant to go
    assert {body["status"] for body in [await r.json() for r in answers[:3]]} == {
        "received", "duplicate", "already_failed"}


def test_an_answer_with_a_key_its_declaration_lacks_is_a_bug_not_a_response() -> None:
    with pytest.raises(msgspec.ValidationError):
        error_answer(400, {"detail": "bad", "hint": "undeclared"})
    with pytest.raises(msgspec.ValidationError):
        callback_answer(200, {"status": "maybe"})
