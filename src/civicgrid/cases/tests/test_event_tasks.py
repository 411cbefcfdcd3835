"""Each committed timeline row gets its follow-up task; one failing consumer does not starve the rest."""

from __future__ import annotations

import pytest

from civicgrid.cases import tasks
from civicgrid.cases.models import CaseEvent


def test_committed_event_runs_every_consumer_once(
    world, reported_case, django_capture_on_commit_callbacks
):
    from civicgrid.cases import services

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.case_accept(case=reported_case, actor=world.user("dispatcher"))
    assert len(callbacks) >= 1
    from civicgrid.metrics.models import CaseContribution  # what the rollup consumer writes

    assert CaseContribution.objects.filter(case_id=reported_case.pk).exists()


def test_a_failing_consumer_does_not_stop_the_next(world, reported_case, monkeypatch):
    ran: list[str] = []

    def broken(*, event_id: int) -> None:
        raise RuntimeError("backend down")

    def working(*, event_id: int) -> None:
        ran.append("working")

    monkeypatch.setattr(tasks, "_consumers", lambda: [broken, working])
    event = CaseEvent.objects.filter(case=reported_case).first()
    with pytest.raises(RuntimeError):
        tasks.process_case_event.call(event_id=event.pk)
    assert ran == ["working"]
