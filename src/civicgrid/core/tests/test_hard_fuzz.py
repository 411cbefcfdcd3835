"""Property-based fuzzing of the whole REST API from its own OpenAPI document (schemathesis).

Every operation in /api/openapi.json is called with generated valid and invalid input, as each
role through its bearer token and anonymously, with path parameters that sometimes name real
cases, hot spots, plans and tasks. Zero 5xx and zero responses that break their own schema.
New endpoints are fuzzed the day they appear in the document.

CIVICGRID_FUZZ_EXAMPLES (default 70) sets examples per operation; CIVICGRID_FUZZ_RANDOM=1 draws a
fresh seed instead of the fixed one CI uses (a failure prints how to reproduce it).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from civicgrid.core.management.commands.reliability_report import record_figures
from civicgrid.core.tests.hard_world import HardWorld, build_hard_world
from civicgrid.wsgi import application

pytestmark = [pytest.mark.hard, pytest.mark.django_db]

EXAMPLES = int(os.environ.get("CIVICGRID_FUZZ_EXAMPLES", "70"))
RANDOM = os.environ.get("CIVICGRID_FUZZ_RANDOM") == "1"
SCHEMA = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
# Anonymous plus one of each kind of role; the rest of the users share these rules.
CALLERS = (None, "resident", "inspector", "operator", "dispatcher", "handler", "ops", "admin")
CHECKS = [not_a_server_error, response_schema_conformance]
# How path parameters are named in the document -> which real object they can point at.
REAL_IDS = {"number": "numbers", "hotspot_id": "hotspots", "plan_id": "plans", "task_id": "tasks"}


def _real_values(hw: HardWorld) -> dict[str, list[Any]]:
    return {
        "numbers": [t.number for t in hw.targets.values()],
        "hotspots": list(hw.hotspots.values()),
        "plans": [hw.plan_id],
        "tasks": [hw.task_id],
    }


def _label(operation: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_./{}-]+", "_", operation.label)


@pytest.fixture
def hard_world(db) -> HardWorld:
    return build_hard_world()


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """The raw WSGI app closes connections at request end; the test's transaction must live on.

    Django's own test client does the same disconnection.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_the_document_lists_every_api_route():
    """The fuzzer sees what the document lists; every ninja route must be in it."""
    from civicgrid.api import api

    documented = {op.path for op in OPERATIONS}
    routed = {
        "/api/" + str(p.pattern).replace("<int:", "{").replace("<", "{").replace(">", "}")
        for p in api.urls[0]
        if getattr(p, "name", "") not in ("openapi-json", "openapi-view", "api-root")
    }
    assert routed - documented == set()
    assert len(OPERATIONS) >= 40


@pytest.mark.parametrize("operation", OPERATIONS, ids=_label)
def test_operation_survives_fuzzing(operation, hard_world):
    real = _real_values(hard_world)
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not RANDOM,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, caller=st.sampled_from(CALLERS), pick=st.integers(0, 15))
    def fuzz(case: Any, caller: str | None, pick: int) -> None:
        for name, pool in REAL_IDS.items():
            values = real[pool]
            params = case.path_parameters
            if params and name in params and values and pick < 2 * len(values):
                params[name] = values[pick % len(values)]
        headers = {"Authorization": f"Bearer {hard_world.tokens[caller]}"} if caller else {}
        response = case.call(headers=headers)
        sent[str(response.status_code)] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    sent: Counter[str] = Counter()
    fuzz()
    total = sum(sent.values())
    assert total > 0
    record_figures(
        "fuzz",
        operations=1,
        requests=total,
        **{f"status_{code}": n for code, n in sent.items()},
    )
