"""Two web processes, two task workers and two ingestion workers on one PostgreSQL and one broker.

Everything runs as real processes (gunicorn, `manage.py db_worker`, `manage.py run_ingest`) on
a database of its own, with the production settings. Cases come in over HTTP through both web
processes and as device events over MQTT (with redeliveries, duplicates and bad messages) and
over the webhook; then every case must exist once, every event must have been handled once,
and every follow-up task must have run once, by one worker.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import paho.mqtt.client as mqtt
import pytest
from django.conf import settings

from .conftest import broker_listening, event

ROOT = Path(__file__).resolve().parents[4]
MANAGE = [sys.executable, str(ROOT / "manage.py")]
pytestmark = pytest.mark.scaleout

SETUP = """
import json
from civicgrid.accounts.models import ApiToken, Role, TokenSource, User
from civicgrid.core.testing import build_world
world = build_world()
ingest = User.objects.create_user(username="ingest", role=Role.DISPATCHER)
key = ApiToken.new_key()
ApiToken.objects.create(user=ingest, name="gateway", prefix=key[:8],
                        key_hash=ApiToken.hash_key(key), source=TokenSource.DEVICE)
print(json.dumps({"hotline": world.tokens["hotline"], "device": key}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(url: str):
    import psycopg

    return psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)


@pytest.fixture
def scaleout_db(tmp_path):
    """A database of its own on the test server, migrated, with the test world in it."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the scale-out test runs on PostgreSQL (set DATABASE_URL)")
    if not broker_listening():
        pytest.skip("no MQTT broker listens on 127.0.0.1:1883 (start Mosquitto: mosquitto -d)")
    parts = urlsplit(os.environ["DATABASE_URL"])
    name = f"{parts.path.lstrip('/')}_scaleout_{os.getpid()}"
    url = urlunsplit(parts._replace(path=f"/{name}"))
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psql(admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "civicgrid.settings.prod",
        "DJANGO_SECRET_KEY": "scale-out-test-" + uuid.uuid4().hex,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "CIVICGRID_VAR_DIR": str(tmp_path),
        "CIVICGRID_RATE_LIMITS": "0",  # the test posts hundreds of cases from one address
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run([*MANAGE, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    out = subprocess.run(
        [*MANAGE, "shell", "-c", SETUP],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    yield url, env, json.loads(out.strip().splitlines()[-1])
    with psql(admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Processes:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env, self.log_dir, self.running = env, log_dir, {}

    def start(self, name: str, cmd: list[str]) -> None:
        out = open(self.log_dir / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        self.running[name] = (
            subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT),
            out,
        )

    def stop(self, name: str) -> str:
        process, out = self.running.pop(name)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        out.close()
        return (self.log_dir / f"{name}.log").read_text()

    def stop_all(self) -> dict[str, str]:
        return {name: self.stop(name) for name in list(self.running)}


def wait_for(what: str, check, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_every_case_event_and_task_is_processed_exactly_once(scaleout_db, tmp_path):
    url, env, tokens = scaleout_db
    run = uuid.uuid4().hex[:10]
    procs = Processes(env, tmp_path)
    ports = [free_port(), free_port()]
    try:
        for i, port in enumerate(ports):
            procs.start(f"web{i}", [sys.executable, "-m", "gunicorn", "civicgrid.wsgi:application",
                                    "--bind", f"127.0.0.1:{port}", "--workers", "2"])  # fmt: skip
            procs.start(f"tasks{i}", [*MANAGE, "db_worker", "--interval", "0.1", "--no-startup-delay",
                                      "--worker-id", f"tasks{i}"])  # fmt: skip
            procs.start(f"ingest{i}", [*MANAGE, "run_ingest", "--client-id", f"scaleout-{run}-{i}",
                                       "--topic", f"$share/{run}/civicgrid-scaleout/{run}/events/#",
                                       "--batch-size", "20", "--batch-ms", "30"])  # fmt: skip
        wait_for("both web processes", lambda: all(_up(p) for p in ports))
        time.sleep(2)  # the ingestion workers subscribe (they load the grids first)

        # when: 200 device events over MQTT, 20 of them sent twice, 5 bad; 10 of them and 10
        # new ones over the webhook; 120 cases over HTTP through both web processes at once
        rng = random.Random(7)
        events = [_event(rng) for _ in range(200)]
        payloads = [json.dumps(e).encode() for e in events]
        payloads += [payloads[i] for i in rng.sample(range(200), 20)]
        payloads += [b"{not json"] * 3 + [json.dumps(_event(rng, category="9999")).encode()] * 2
        rng.shuffle(payloads)
        _publish(f"civicgrid-scaleout/{run}/events/gateway", payloads)
        webhook = events[:10] + [_event(rng) for _ in range(10)]
        cases = [_case(rng, f"{run}-{n}") for n in range(120)]
        with ThreadPoolExecutor(8) as pool:
            statuses = list(
                pool.map(lambda n: _post_case(ports[n % 2], tokens, cases[n]), range(120))
            )
            hook = pool.submit(_post_webhook, ports[0], tokens, webhook).result()
        assert statuses == [201] * 120
        assert (hook["created"] + hook["duplicate"], hook["rejected"]) == (20, 0)

        device, http = {e["event_id"] for e in events + webhook}, {c["external_id"] for c in cases}
        conn = psql(url)
        wait_for("every case", lambda: _count(conn, "SELECT count(*) FROM cases_case") == 330)
        wait_for("every task", lambda: _count(conn, "SELECT count(*) FROM django_tasks_database_dbtaskresult "
                                                    "WHERE status NOT IN ('SUCCESSFUL', 'FAILED')") == 0)  # fmt: skip
        wait_for(
            "every message",
            lambda: _count(conn, "SELECT count(*) FROM ingest_rejectedmessage") == 5,
        )
    finally:
        logs = procs.stop_all()
    # then each event and each case is one case
    rows = conn.execute("SELECT source, external_id FROM cases_case").fetchall()
    assert sorted(x for s, x in rows if s == "device") == sorted(device)
    assert sorted(x for s, x in rows if s == "hotline") == sorted(http)
    # and each bad message was recorded once, each message handled once, by one of the two
    assert _count(conn, "SELECT count(*) FROM ingest_rejectedmessage") == 5
    handled = [_counts(logs[f"ingest{i}"]) for i in (0, 1)]
    assert sum(h["messages"] for h in handled) == len(payloads)
    assert all(h["messages"] > 0 for h in handled), handled  # the subscription is shared
    assert sum(h["created"] for h in handled) + hook["created"] == 210
    # and each case event had one follow-up task, run once, by one worker, both workers busy
    tasks = conn.execute(
        "SELECT args_kwargs, status, worker_ids FROM django_tasks_database_dbtaskresult "
        "WHERE task_path = 'civicgrid.cases.tasks.process_case_event'"
    ).fetchall()
    event_ids = [r[0] for r in conn.execute("SELECT id FROM cases_caseevent").fetchall()]
    assert sorted(t[0]["kwargs"]["event_id"] for t in tasks) == sorted(event_ids)
    assert {t[1] for t in tasks} == {"SUCCESSFUL"}
    assert all(len(t[2]) == 1 for t in tasks)
    assert {t[2][0] for t in tasks} == {"tasks0", "tasks1"}
    conn.close()


def _up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/openapi.json", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _event(rng: random.Random, **overrides):
    lon, lat = rng.uniform(121.4001, 121.4299), rng.uniform(31.2001, 31.2099)
    return event(lon=lon, lat=lat, **overrides)


def _case(rng: random.Random, external_id: str) -> dict:
    return {
        "category": rng.choice(["0101", "0102"]),
        "description": "12345 来电：路口垃圾满溢",
        "lon": rng.uniform(121.4001, 121.4299),
        "lat": rng.uniform(31.2001, 31.2099),
        "external_id": external_id,
    }


def _post_case(port: int, tokens: dict, body: dict) -> int:
    headers = {"Authorization": f"Bearer {tokens['hotline']}"}
    return httpx.post(
        f"http://127.0.0.1:{port}/api/cases", json=body, headers=headers, timeout=30
    ).status_code


def _post_webhook(port: int, tokens: dict, events: list) -> dict:
    headers = {"Authorization": f"Bearer {tokens['device']}"}
    response = httpx.post(f"http://127.0.0.1:{port}/api/ingest/events", json={"events": events},
                          headers=headers, timeout=60)  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()


def _publish(topic: str, payloads: list[bytes]) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    try:
        for info in [client.publish(topic, p, qos=1) for p in payloads]:
            info.wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()


def _count(conn, sql: str) -> int:
    return conn.execute(sql).fetchone()[0]


def _counts(log: str) -> dict[str, int]:
    line = [x for x in log.splitlines() if x.startswith("messages=")][-1]
    return {k: int(v) for k, v in (part.split("=") for part in line.split())}
