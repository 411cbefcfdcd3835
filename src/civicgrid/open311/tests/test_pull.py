"""open311_pull against a real HTTP server on 127.0.0.1 that serves fixture JSON and XML."""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from civicgrid.cases import services as cases
from civicgrid.cases.models import Case, CaseEvent, State
from civicgrid.core import clock

FIXTURES = Path(__file__).parent / "fixtures"
MAP = str(FIXTURES / "service_code_map.json")
TYPES = {".json": "application/json; charset=utf-8", ".xml": "text/xml; charset=utf-8"}


@dataclass
class RemoteCity:
    """What the fake city serves at each path, and every query it was sent."""

    base: str = ""
    routes: dict[str, tuple[int, str]] = field(default_factory=dict)  # path -> (status, file)
    queries: list[dict[str, list[str]]] = field(default_factory=list)

    def serve(self, path: str, fixture: str, status: int = 200) -> None:
        self.routes[f"/open311/v2/{path}"] = (status, fixture)


@pytest.fixture
def city() -> Iterator[RemoteCity]:
    state = RemoteCity()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            state.queries.append(parse_qs(url.query))
            status, fixture = state.routes.get(url.path, (404, "errors.json"))
            body = (FIXTURES / fixture).read_bytes()
            self.send_response(status)
            self.send_header("Content-Type", TYPES[Path(fixture).suffix])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{server.server_port}/open311/v2"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("open311_pull", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_pull_json_files_a_case_per_request_and_says_why_others_were_skipped(world, city):
    city.serve("requests.json", "requests.json")

    out, err = run(city.base, "--source", "api", "--service-code-map", MAP)

    assert "created 2, updated 0, unchanged 0, skipped 3" in out
    assert "SF-1003" in err and "outside every grid" in err
    assert "SF-1004" in err and "POT-99" in err
    assert "SF-1005" in err and "lat/long" in err
    first = Case.objects.get(source="api", external_id="SF-1001")
    assert first.category.code == "0101"
    assert first.management_grid.code == "G1"
    assert first.state == State.REPORTED
    assert first.deadline is not None
    assert first.reporter.username == "open311-import"
    assert first.extra["_open311"]["media_url"] == "https://city.example.org/media/1001.jpg"
    assert first.extra["_open311"]["origin"] == city.base
    closed = Case.objects.get(source="api", external_id="SF-1002")
    assert closed.management_grid.code == "G2"
    assert closed.state == State.CLOSED  # filed, then closed as the remote says
    assert [(e.action, e.to_state, e.note) for e in closed.timeline.all()] == [
        ("report", "reported", ""),
        ("close", "closed", "Collected the same day."),
    ]


def test_a_rerun_updates_nothing_and_never_duplicates(world, city):
    city.serve("requests.json", "requests.json")
    run(city.base, "--source", "api", "--service-code-map", MAP)
    events = CaseEvent.objects.count()

    out, _err = run(city.base, "--source", "api", "--service-code-map", MAP)

    assert "created 0, updated 0, unchanged 2" in out
    assert Case.objects.count() == 2
    assert CaseEvent.objects.count() == events


def test_remote_changes_are_recorded_in_the_timeline_and_a_remote_close_closes_the_case(
    world, city
):
    city.serve("requests.json", "requests.json")
    run(city.base, "--source", "api", "--service-code-map", MAP)
    city.serve("requests.json", "requests_updated.json")

    out, _err = run(city.base, "--source", "api", "--service-code-map", MAP)

    assert "created 0, updated 2" in out
    case = Case.objects.get(external_id="SF-1001")
    assert case.description == "Bin overflowing at the corner, also smells"
    assert case.state == State.CLOSED
    assert case.closed_at is not None
    sync, close = case.timeline.exclude(action="report")
    assert (sync.action, sync.to_state) == ("external_sync", "reported")
    assert sync.data["description"]["from"] == "Bin overflowing at the corner"
    assert (close.action, close.from_state, close.to_state) == ("close", "reported", "closed")
    assert close.note == "Bin emptied and cleaned."
    assert close.actor.username == "open311-import"  # the system actor, not a raw update
    reopened = Case.objects.get(external_id="SF-1002")
    assert reopened.state == State.ACCEPTED
    assert reopened.reopen_count == 1
    assert reopened.timeline.last().action == "reopen"
    assert reopened.timeline.last().note == "Reopened: bags are back."


def test_a_local_decision_is_not_undone_while_the_remote_is_unchanged(world, city):
    city.serve("requests.json", "requests.json")
    run(city.base, "--source", "api", "--service-code-map", MAP)
    case = Case.objects.get(external_id="SF-1001")
    cases.case_reject(case=case, actor=world.user("dispatcher"), reason="外地事项")

    run(city.base, "--source", "api", "--service-code-map", MAP)

    case.refresh_from_db()
    assert case.state == State.REJECTED
    assert case.timeline.last().action == "reject"


def test_pull_xml_with_codes_that_are_ours_already(world, city):
    city.serve("requests.xml", "requests.xml")

    out, _err = run(city.base, "--source", "api", "--format", "xml")

    assert "created 2" in out
    stall = Case.objects.get(external_id="BOS-77")
    assert stall.category.code == "0102"
    assert stall.management_grid.code == "G3"
    assert stall.address == "示范路 9 号"
    assert Case.objects.get(external_id="BOS-78").state == State.CLOSED


def test_same_remote_id_under_another_source_is_another_case(world, city):
    city.serve("requests.xml", "requests.xml")
    run(city.base, "--source", "api", "--format", "xml")

    run(city.base, "--source", "hotline", "--format", "xml")

    assert Case.objects.filter(external_id="BOS-77").count() == 2


def test_since_asks_in_windows_of_at_most_90_days_with_jurisdiction_and_key(world, city):
    city.serve("requests.json", "requests.json")
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)

    with clock.frozen(now):
        run(
            city.base,
            "--source",
            "api",
            "--service-code-map",
            MAP,
            "--since",
            "2026-01-01",
            "--jurisdiction-id",
            "sf.example.org",
            "--api-key",
            "k-123",
        )

    windows = [
        (dt.datetime.fromisoformat(q["start_date"][0]), dt.datetime.fromisoformat(q["end_date"][0]))
        for q in city.queries
    ]
    assert len(windows) == 2
    assert all(end - start <= dt.timedelta(days=90) for start, end in windows)
    assert windows[0][1] == windows[1][0]
    assert windows[-1][1] == now
    assert all(q["jurisdiction_id"] == ["sf.example.org"] for q in city.queries)
    assert all(q["api_key"] == ["k-123"] for q in city.queries)
    assert Case.objects.count() == 2  # each request once, though it came in every window


def test_remote_error_list_is_reported_and_nothing_is_filed(world, city):
    city.serve("requests.json", "errors.json", status=403)

    with pytest.raises(CommandError, match=r"403.*Invalid api_key"):
        run(city.base, "--source", "api")
    assert not Case.objects.exists()


def test_unreachable_endpoint_is_a_command_error(world, city):
    with pytest.raises(CommandError, match="Cannot reach"):
        run("http://127.0.0.1:9/open311/v2", "--source", "api", "--timeout", "2")


def test_source_the_import_account_may_not_file_is_refused(world, city):
    city.serve("requests.json", "requests.json")

    with pytest.raises(CommandError, match="patrol"):
        run(city.base, "--source", "patrol")
    assert not city.queries  # refused before asking the remote at all


def test_xml_with_a_dtd_is_refused_before_parsing(world, city):
    city.serve("requests.xml", "doctype.xml")

    with pytest.raises(CommandError, match="DTD"):
        run(city.base, "--source", "api", "--format", "xml")
    assert not Case.objects.exists()
