"""Two people acting on one case at the same moment: one wins, the other gets a 409."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from civicgrid.cases import services
from civicgrid.cases.models import Case, CaseAssignment, State
from civicgrid.core.errors import Conflict, DomainError
from civicgrid.core.testing import INSIDE


def race(*calls):
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as e:
            results[i] = e
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_one_wins_the_other_gets_409(world):
    lon, lat = INSIDE["G1"]
    case = services.case_create(
        actor=world.user("resident"), category="0101", description="d", lon=lon, lat=lat
    ).case
    case = services.case_accept(case=case, actor=world.user("dispatcher"))
    results = race(
        lambda: services.case_dispatch(
            case=case, lead=world.departments["CG"], actor=world.user("dispatcher")
        ),
        lambda: services.case_dispatch(
            case=case, lead=world.departments["XF"], actor=world.user("head")
        ),
    )
    wins = [r for r in results if isinstance(r, Case)]
    losses = [r for r in results if isinstance(r, DomainError)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert isinstance(losses[0], Conflict) and losses[0].status == 409
    case.refresh_from_db()
    assert case.state == State.DISPATCHED
    assert CaseAssignment.objects.filter(case=case, active=True).count() == 1
    assert case.timeline.filter(action="dispatch").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_supports_are_all_counted(world):
    lon, lat = INSIDE["G1"]
    case = services.case_create(
        actor=world.user("operator"), category="0101", description="d", lon=lon, lat=lat
    ).case
    results = race(
        lambda: services.case_support(case=case, actor=world.user("resident")),
        lambda: services.case_support(case=case, actor=world.user("resident2")),
    )
    assert all(isinstance(r, Case) for r in results), results
    case.refresh_from_db()
    assert case.supporters_count == 2
