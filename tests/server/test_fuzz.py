"""Schemathesis against ``/openapi.json`` of a running ``ecg-desktop serve``: valid and invalid
requests to every operation, bounded in examples and time; no 5xx, and every answer has a
documented status, content type, headers and body schema."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.services.serve import start_serve

# ``not_a_server_error`` would also flag the documented 502/503 answers (ML server or store
# down); an undocumented 5xx fails ``status_code_conformance``, and 500 is refused below.
CHECKS = [status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
EXAMPLES_PER_MODE = 150
TIME_BUDGET_S = 90


@pytest.fixture
def backend(settings_factory: Any, tmp_path: Path) -> Iterator[str]:
    settings_factory()  # isolated data and config folders
    env = {**os.environ, "MODEL_SERVER_URL": "http://127.0.0.1:9", "ECG_RATE_LIMIT": "100000",
           "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"}
    served = start_serve(env, tmp_path / "serve.log")
    try:
        yield served.url
    finally:
        served.shut_down()
    served_log = served.log()
    assert "Traceback" not in served_log, served_log[-3000:]
    assert "unexpected error" not in served_log


@pytest.mark.timeout(TIME_BUDGET_S * 3)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_fuzzing_finds_no_server_error_and_no_answer_outside_the_schema(
    backend: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{backend}/openapi.json")
    session = requests.Session()
    started = time.monotonic()

    @settings(max_examples=EXAMPLES_PER_MODE, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=schema.as_strategy(generation_mode=mode))
    def exercise(case: Any) -> None:
        if time.monotonic() - started > TIME_BUDGET_S:
            return
        response = case.call(base_url=backend, session=session, timeout=15)
        assert response.status_code != 500, (case.method, case.formatted_path, response.text)
        case.validate_response(response, checks=CHECKS)

    exercise()
