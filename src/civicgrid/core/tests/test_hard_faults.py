"""Faults: backends killed during intake and ingestion, the scheduler started twice, task
workers killed mid-task.

Real subprocesses work on this run's own test database (committed rows, transactional_db);
the tests kill their connections with pg_terminate_backend (PostgreSQL only), which touches no
other database on a shared server, or kill the processes themselves with SIGKILL (task workers,
on either database). Afterwards: nothing acknowledged is lost, nothing is half-written, nothing
is enqueued or done twice. Bounded: every subprocess has a timeout.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from django.db import connection
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from civicgrid.accounts.models import Role, User
from civicgrid.audit.services import audit_verify_chain
from civicgrid.cases.models import Case, CaseEvent, Source
from civicgrid.cases.services import case_accept, case_create, case_dispatch
from civicgrid.cases.workflow import Action
from civicgrid.core.management.commands.reliability_report import record_figures
from civicgrid.core.models import ScheduledRun
from civicgrid.core.services import task_requeue_stale
from civicgrid.core.testing import INSIDE
from civicgrid.ingest.models import RejectedMessage
from civicgrid.ingest.tests.conftest import broker_listening, event
from civicgrid.metrics.models import ALL_TIME, Rollup, Span
from civicgrid.metrics.reconcile import rollup_reconcile
from civicgrid.notify.models import Notification, Status

from . import fault_tasks

pytestmark = [pytest.mark.hard, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[4]

INTAKE = r"""
import json, sys, django
django.setup()
from django.db import connection
from civicgrid.accounts.models import User
from civicgrid.cases.services import case_create
from civicgrid.core.testing import INSIDE
lon, lat = INSIDE["G1"]
for i in range(int(sys.argv[1])):
    try:
        operator = User.objects.get(username="operator")
        case = case_create(actor=operator, category="0101", description=f"fault {i}",
                           lon=lon, lat=lat, external_id=f"fault-{i}").case
        print(json.dumps({"ok": case.number}), flush=True)
    except Exception as exc:  # the connection was killed under us: report, go on
        print(json.dumps({"failed": i, "error": type(exc).__name__}), flush=True)
        connection.close()
"""


@pytest.fixture
def db_env() -> dict[str, str]:
    """The environment of a subprocess working on this run's own test database (either kind)."""
    s = connection.settings_dict
    if connection.vendor == "postgresql":
        url = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    else:
        url = f"sqlite:///{s['NAME']}"  # the test database is a file (settings/test.py)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "civicgrid.settings.dev"}
    env["DB_CONN_MAX_AGE"] = "0"
    env["PYTHONPATH"] = str(ROOT / "src")
    return env


@pytest.fixture
def pg_env(db_env):
    if connection.vendor != "postgresql":
        pytest.skip("fault injection needs PostgreSQL (pg_terminate_backend); SQLite has no server")
    return db_env


def kill_other_backends() -> int:
    """Terminate every connection to this test database but our own; how many."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cur.fetchone()[0]


def test_killing_backends_during_intake_loses_nothing_acknowledged(world, pg_env):
    proc = subprocess.Popen(
        [sys.executable, "-c", INTAKE, "60"],
        cwd=ROOT,
        env=pg_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    kills = 0
    deadline = time.monotonic() + 90
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
        kills += kill_other_backends()
    out, err = proc.communicate(timeout=30)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    acked = [x["ok"] for x in lines if "ok" in x]
    assert proc.returncode == 0, err[-2000:]
    assert kills > 0 and acked, (kills, lines[:5])

    # Every acknowledged case is there, once, with its report row and its audit row.
    stored = list(Case.objects.values_list("number", flat=True))
    assert set(acked) <= set(stored)
    assert len(stored) == len(set(stored))
    for case in Case.objects.all():
        assert CaseEvent.objects.filter(case=case).exists(), case.number
    assert audit_verify_chain()[1] == []
    record_figures(
        "faults",
        intake_attempts=len(lines),
        intake_acknowledged=len(acked),
        backends_killed=kills,
        rows_checked=len(stored),
    )


def test_two_schedulers_enqueue_each_slot_once(world, pg_env):
    procs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "run_scheduler", "--interval", "0.2"],
            cwd=ROOT,
            env=pg_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        # Wait for the schedulers to start (slow on a loaded machine), bounded; not a fixed sleep.
        deadline = time.monotonic() + 90
        while not ScheduledRun.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)
        kill_other_backends()  # and a restart of the database under them, as far as they know
        time.sleep(3)
    finally:
        for p in procs:
            p.terminate()
        errors = [p.communicate(timeout=20)[1] for p in procs]
    runs = list(ScheduledRun.objects.values_list("job", "slot", "task_id"))
    assert runs, f"the schedulers enqueued nothing: {errors}"
    assert len({(j, s) for j, s, _ in runs}) == len(runs)
    task_ids = {t for _, _, t in runs}
    assert DBTaskResult.objects.count() == len(runs) == len(task_ids)
    record_figures("faults", scheduler_processes=2, scheduled_runs=len(runs))


def _db_worker(env: dict[str, str], name: str, log_dir: Path, *extra: str) -> subprocess.Popen:
    """A real `manage.py db_worker` (no autoreloader: SIGKILL must hit the process that works)."""
    with open(log_dir / f"{name}.log", "w") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay",
             "--interval", "0.1", "--worker-id", name, *extra],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def test_a_task_worker_killed_mid_task_loses_nothing_and_does_nothing_twice(
    world, db_env, settings, tmp_path
):
    # given: cases filed, accepted and dispatched, their follow-up tasks in the database queue
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    lon, lat = INSIDE["G1"]
    operator, dispatcher = world.user("operator"), world.user("dispatcher")
    for i in range(6):
        case = case_create(
            actor=operator, category="0101", description=f"worker fault {i}", lon=lon, lat=lat
        ).case
        case = case_accept(case=case, actor=dispatcher)
        case_dispatch(case=case, lead=world.departments["CG"], actor=dispatcher)
    dispatches = list(
        CaseEvent.objects.filter(action=Action.DISPATCH).order_by("pk").values_list("pk", flat=True)
    )
    # and two events whose follow-up stalls on its first attempt: after the rollup consumer,
    # and after both consumers (the task is not marked done either way)
    process = "civicgrid.cases.tasks.process_case_event"
    stalled = {
        "between": (dispatches[1], fault_tasks.stall_between_consumers.module_path),
        "after": (dispatches[3], fault_tasks.stall_after_consumers.module_path),
    }
    for event_id, path in stalled.values():
        rows = DBTaskResult.objects.filter(
            task_path=process, args_kwargs__kwargs__event_id=event_id
        )
        assert rows.update(task_path=path) == 1

    # when two workers each stall in one of them and are killed with SIGKILL
    env = {**db_env, fault_tasks.MARK_DIR: str(tmp_path)}

    def logs() -> list[str]:
        return [p.read_text()[-2000:] for p in sorted(tmp_path.glob("*.log"))]

    workers = [_db_worker(env, f"doomed-{n}", tmp_path) for n in range(2)]
    marks = [tmp_path / f"{name}-{event_id}" for name, (event_id, _) in stalled.items()]
    try:
        deadline = time.monotonic() + 90
        while not all(m.exists() for m in marks) and time.monotonic() < deadline:
            assert all(w.poll() is None for w in workers), logs()
            time.sleep(0.1)
    finally:
        for w in workers:
            w.kill()
            w.wait(timeout=20)
    assert all(m.exists() for m in marks), logs()
    lost = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
    assert sorted(lost.values_list("task_path", flat=True)) == sorted(
        p for _, p in stalled.values()
    )

    # and the recovery job runs once they are past the limit, and a new worker runs the queue dry
    limit = settings.CIVICGRID["TASK_RUNNING_LIMIT_SECONDS"]
    later = timezone.now() + dt.timedelta(seconds=limit + 1)
    requeued = task_requeue_stale(now=later)
    assert len(requeued.requeued) == 2 and requeued.failed == []
    survivor = _db_worker(env, "survivor", tmp_path, "--batch")
    try:
        assert survivor.wait(timeout=90) == 0, logs()
    finally:
        survivor.kill()  # no-op once it has exited
        survivor.wait()

    # then every task has finished, each once, except the two killed ones, run twice
    tasks = list(DBTaskResult.objects.values("task_path", "args_kwargs", "status", "worker_ids"))
    assert {t["status"] for t in tasks} == {TaskResultStatus.SUCCESSFUL}
    assert sorted(len(t["worker_ids"]) for t in tasks) == [1] * (len(tasks) - 2) + [2, 2]
    # and each timeline row had one follow-up task
    follow_ups = [
        t for t in tasks if t["task_path"] in {process, *(p for _, p in stalled.values())}
    ]
    assert sorted(t["args_kwargs"]["kwargs"]["event_id"] for t in follow_ups) == sorted(
        CaseEvent.objects.values_list("pk", flat=True)
    )
    # and each dispatch told the department's handler once, sent once
    handler = world.user("handler").pk
    notifications = list(Notification.objects.values("idempotency_key", "status", "attempts"))
    assert sorted(n["idempotency_key"] for n in notifications) == sorted(
        f"case-event:{e}:user:{handler}" for e in dispatches
    )
    assert {(n["status"], n["attempts"]) for n in notifications} == {(Status.SENT, 1)}
    sends = [t for t in tasks if t["task_path"] == "civicgrid.notify.tasks.send_notification"]
    assert len(sends) == len(notifications)
    # and each case counts once in the rollups, which the reconcile job finds nothing to fix in
    total = Rollup.objects.get(
        span=Span.ALL, period=ALL_TIME, node=world.regions["D"].path, dim="", key=""
    )
    assert (total.reported, total.accepted, total.dispatched, total.dispatches) == (6, 6, 6, 6)
    reconciled = rollup_reconcile()
    assert (reconciled.cases_fixed, reconciled.rows_fixed) == (0, 0)
    record_figures(
        "faults",
        task_workers_killed=len(workers),
        tasks_requeued=len(requeued.requeued),
        task_rows_checked=len(tasks),
        notifications_checked=len(notifications),
    )


def test_killing_backends_during_ingestion_files_every_event_once(world, pg_env, tmp_path):
    if not broker_listening():
        pytest.skip("no MQTT broker listens on 127.0.0.1:1883 (start Mosquitto: mosquitto -d)")
    User.objects.create_user(username="ingest", role=Role.DISPATCHER)
    run = uuid.uuid4().hex[:10]  # a topic, group and session of this run only
    # Connections kept between batches, as in production: a kill between batches hits them too.
    env = {**pg_env, "DB_CONN_MAX_AGE": "600", "LOG_LEVEL": "INFO"}
    env["CIVICGRID_INGEST_SESSION_EXPIRY_SECONDS"] = "60"
    log_path = tmp_path / "ingest.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "run_ingest", "--client-id", f"faults-{run}",
             "--topic", f"$share/{run}/civicgrid-faults/{run}/events/#",
             "--batch-size", "10", "--batch-ms", "30"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    events = [event() for _ in range(150)]
    filed = Case.objects.filter(source=Source.DEVICE)
    kills = 0

    def wait_until(what: str, check) -> None:
        deadline = time.monotonic() + 60
        while not check():
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.1)

    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    try:
        wait_until("the subscription", lambda: "subscribed to" in log_path.read_text())
        time.sleep(0.5)  # the SUBACK is on its way
        publisher.connect("127.0.0.1", 1883)
        publisher.loop_start()
        for start in range(0, len(events), 50):
            for e in events[start : start + 50]:
                topic = f"civicgrid-faults/{run}/events/cam"
                publisher.publish(topic, json.dumps(e).encode(), qos=1).wait_for_publish(5)
            # when its database connection is killed once it is at work on each wave of events
            wait_until("a batch of the wave", lambda s=start: filed.count() > s)
            kills += kill_other_backends() > 0
        # and again every few tenths of a second until it has filed them all
        deadline = time.monotonic() + 60
        while filed.count() < len(events):
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, f"{filed.count()} of {len(events)} filed"
            if kills < 6 and kill_other_backends():
                kills += 1
            time.sleep(0.4)
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        proc.terminate()  # SIGTERM: it finishes the batch in hand, sends the acks, prints counts
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    output = log_path.read_text()
    assert proc.returncode == 0, output[-3000:]
    assert kills >= 3, kills  # each wave's kill found the connection the worker keeps

    # then every event was filed once: no loss, no duplicate, none refused, each with its report
    numbers = list(filed.values_list("external_id", flat=True))
    assert sorted(numbers) == sorted(e["event_id"] for e in events)
    assert not RejectedMessage.objects.exists()
    reported = CaseEvent.objects.filter(case__source=Source.DEVICE, action="report")
    assert reported.count() == len(events)
    assert audit_verify_chain()[1] == []
    # and the worker lived through it and counted every message it acknowledged
    last = [line for line in output.splitlines() if line.startswith("messages=")][-1]
    counts = dict(part.split("=") for part in last.split())
    assert int(counts["created"]) + int(counts["duplicate"]) == int(counts["messages"])
    assert int(counts["messages"]) >= len(events)
    record_figures(
        "faults",
        ingest_events=len(events),
        ingest_kills=kills,
        ingest_batches_retried=output.count("not written; retrying"),
        ingest_rows_checked=len(numbers),
    )
