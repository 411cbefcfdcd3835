"""Staff pages: each role sees its own jurisdiction and only the actions the workflow allows."""

from __future__ import annotations

import re

from civicgrid.cases.models import AssignmentRole, AttachmentKind, Case, Source, State
from civicgrid.cases.services import case_accept, case_create
from civicgrid.core.testing import INSIDE

from .conftest import photo


def _panels(html: str) -> set[str]:
    return set(re.findall(r'data-panel="([a-z_]+)"', html))


def test_anonymous_visitor_is_sent_to_sign_in_from_the_desk(world, client_for):
    response = client_for(None).get("/desk/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/desk/")


def test_a_resident_may_not_open_the_desk(world, client_for):
    assert client_for("resident").get("/desk/").status_code == 403


def test_signing_in_lands_each_role_on_its_own_page(world, client_for):
    for name, home in [
        ("dispatcher", "/desk/"),
        ("inspector", "/patrol/"),
        ("operator", "/intake/"),
        ("handler", "/dept/"),
    ]:
        client = client_for(None)
        response = client.post(
            "/accounts/login/", {"username": name, "password": f"pw-{name}"}, follow=True
        )
        assert response.redirect_chain[-1][0] == home, name
        assert response.status_code == 200


def test_desk_lists_only_cases_of_the_dispatchers_jurisdiction(world, client_for, reported_case):
    mine = client_for("dispatcher").get("/desk/", {"queue": "intake"}).content.decode()
    other = client_for("dispatcher2").get("/desk/", {"queue": "intake"}).content.decode()
    assert reported_case.number in mine
    assert reported_case.number not in other


def test_the_case_page_of_another_jurisdiction_is_not_found(world, client_for, reported_case):
    assert client_for("dispatcher2").get(f"/cases/{reported_case.number}/").status_code == 404
    assert client_for("handler").get(f"/cases/{reported_case.number}/").status_code == 404


def test_the_case_page_offers_exactly_the_allowed_actions(world, client_for, reported_case):
    dispatcher = client_for("dispatcher").get(f"/cases/{reported_case.number}/").content.decode()
    assert {"accept", "reject", "merge", "transfer", "escalate"} <= _panels(dispatcher)
    assert not {"take", "dispatch", "verify"} & _panels(dispatcher)
    inspector = client_for("inspector").get(f"/cases/{reported_case.number}/").content.decode()
    assert _panels(inspector) == {"self_handle", "escalate"}


def test_dispatcher_dispatches_to_a_lead_and_a_co_handler_without_a_reload(
    world, client_for, reported_case
):
    case_accept(case=reported_case, actor=world.user("dispatcher"))
    client = client_for("dispatcher", htmx=True)
    response = client.post(
        f"/cases/{reported_case.number}/act/dispatch/",
        {"dispatch-lead": "CG", "dispatch-co_handlers": ["XF"], "dispatch-note": "尽快"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<div id="case-main"') and "data-done" in html
    reported_case.refresh_from_db()
    assert reported_case.state == State.DISPATCHED
    roles = dict(
        reported_case.assignments.filter(active=True).values_list("department__code", "role")
    )
    assert roles == {"CG": AssignmentRole.LEAD, "XF": AssignmentRole.CO_HANDLER}


def test_dispatch_without_a_lead_is_422_at_the_lead_field_and_changes_nothing(
    world, client_for, reported_case
):
    case_accept(case=reported_case, actor=world.user("dispatcher"))
    response = client_for("dispatcher", htmx=True).post(
        f"/cases/{reported_case.number}/act/dispatch/", {"dispatch-lead": ""}
    )
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#panel-dispatch"
    assert 'id="id_dispatch-lead_error"' in response.content.decode()
    reported_case.refresh_from_db()
    assert reported_case.state == State.ACCEPTED


def test_reject_without_a_reason_shows_the_services_message_at_the_reason(
    world, client_for, reported_case
):
    response = client_for("dispatcher", htmx=True).post(
        f"/cases/{reported_case.number}/act/reject/", {"reject-reason": "  "}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_reject-reason_error"' in html and "Say why the case is rejected." in html
    reported_case.refresh_from_db()
    assert reported_case.state == State.REPORTED


def test_an_action_the_state_no_longer_allows_is_a_409_on_the_panel(
    world, client_for, reported_case
):
    case_accept(case=reported_case, actor=world.user("dispatcher"))
    response = client_for("dispatcher", htmx=True).post(
        f"/cases/{reported_case.number}/act/accept/", {}
    )
    assert response.status_code == 409
    assert response["HX-Retarget"] == "#panel-accept"
    assert 'role="alert"' in response.content.decode()


def test_handler_takes_from_the_queue_and_the_row_is_swapped(world, client_for, dispatched_case):
    client = client_for("handler", htmx=True)
    queue = client.get("/dept/").content.decode()
    assert f"/cases/{dispatched_case.number}/quick/take/" in queue
    response = client.post(f"/cases/{dispatched_case.number}/quick/take/")
    assert response.status_code == 200
    assert response.content.decode().startswith(
        f'<li class="case-row" id="row-{dispatched_case.number}"'
    )
    dispatched_case.refresh_from_db()
    assert dispatched_case.state == State.IN_PROGRESS


def test_handler_reports_handled_with_an_evidence_photo(world, client_for, dispatched_case):
    client = client_for("handler", htmx=True)
    client.post(f"/cases/{dispatched_case.number}/act/take/", {})
    response = client.post(
        f"/cases/{dispatched_case.number}/act/report_handled/",
        {"report_handled-note": "已清运", "report_handled-photos": photo()},
    )
    assert response.status_code == 200
    dispatched_case.refresh_from_db()
    assert dispatched_case.state == State.HANDLED
    assert dispatched_case.attachments.get().kind == AttachmentKind.EVIDENCE


def test_handler_returns_a_case_with_a_reason_and_it_leaves_the_queue(
    world, client_for, dispatched_case
):
    response = client_for("handler", htmx=True).post(
        f"/cases/{dispatched_case.number}/act/return/", {"return-reason": "不属于城管"}
    )
    assert response.status_code == 200
    assert "left your jurisdiction" in response.content.decode()
    dispatched_case.refresh_from_db()
    assert dispatched_case.state == State.RETURNED


def test_inspector_verifies_on_site_with_an_after_photo(world, client_for, handled_case):
    page = client_for("inspector").get(f"/cases/{handled_case.number}/").content.decode()
    assert "verify" in _panels(page)
    response = client_for("inspector", htmx=True).post(
        f"/cases/{handled_case.number}/act/verify/",
        {"verify-ok": "yes", "verify-photos": photo(color="green")},
    )
    assert response.status_code == 200
    handled_case.refresh_from_db()
    assert handled_case.state == State.VERIFIED
    assert handled_case.attachments.filter(kind=AttachmentKind.AFTER).count() == 1


def test_merge_shows_the_duplicate_side_by_side_and_folds_the_case_into_it(
    world, client_for, reported_case
):
    lon, lat = INSIDE["G1"]
    later = case_create(
        actor=world.user("resident2"), category="0101", description="同一堆垃圾", lon=lon, lat=lat
    ).case
    client = client_for("dispatcher", htmx=True)
    page = client.get(f"/cases/{later.number}/").content.decode()
    assert f'value="{reported_case.number}"' in page and 'data-map="compare"' in page
    response = client.post(
        f"/cases/{later.number}/act/merge/", {"merge-into": reported_case.number}
    )
    assert response.status_code == 200
    later.refresh_from_db()
    assert later.state == State.MERGED and later.merged_into == reported_case


def test_extend_needs_a_later_deadline(world, client_for, dispatched_case):
    response = client_for("dispatcher", htmx=True).post(
        f"/cases/{dispatched_case.number}/act/extend/",
        {"extend-until": "2000-01-01T10:00", "extend-reason": "等待配件"},
    )
    assert response.status_code == 422
    assert 'id="id_extend-until_error"' in response.content.decode()


def test_grid_map_data_is_scoped_to_the_users_jurisdiction(world, client_for, reported_case):
    def codes(name: str) -> dict[str, int]:
        data = client_for(name).get("/map/grids.geojson").json()
        return {f["properties"]["code"]: f["properties"]["open"] for f in data["features"]}

    assert codes("inspector") == {"G1": 1}
    assert codes("dispatcher") == {"G1": 1, "G2": 0}
    assert codes("dispatcher2") == {"G3": 0}
    assert client_for("resident").get("/map/grids.geojson").status_code == 403


def test_case_map_data_is_scoped_and_filterable(world, client_for, reported_case):
    mine = client_for("dispatcher").get("/map/cases.geojson").json()
    assert [f["properties"]["number"] for f in mine["features"]] == [reported_case.number]
    other = client_for("dispatcher2").get("/map/cases.geojson").json()
    assert other["features"] == []
    closed = client_for("dispatcher").get("/map/cases.geojson", {"state": "closed"}).json()
    assert closed["features"] == []


def test_operator_files_a_hotline_call_and_gets_a_fresh_form(world, client_for):
    lon, lat = INSIDE["G2"]
    response = client_for("operator", htmx=True).post(
        "/intake/",
        {
            "reporter_phone": "138 0000 2222",
            "reporter_name": "王先生",
            "category": "0102",
            "urgency": "urgent",
            "description": "人行道上有人摆摊",
            "address": "乙社区南门",
            "lon": str(lon),
            "lat": str(lat),
        },
    )
    assert response.status_code == 200
    assert "case-filed" in response["HX-Trigger"]
    case = Case.objects.get()
    assert case.source == Source.HOTLINE and case.reporter_phone == "138 0000 2222"
    assert f'data-filed="{case.number}"' in response.content.decode()


def test_a_bad_caller_phone_is_422_next_to_the_phone(world, client_for):
    response = client_for("operator", htmx=True).post(
        "/intake/", {"reporter_phone": "call me", "category": "0101"}
    )
    assert response.status_code == 422
    assert 'id="id_reporter_phone_error"' in response.content.decode()


def test_place_search_finds_grids_by_name(world, client_for):
    html = client_for("operator").get("/intake/places/", {"q": "G2"}).content.decode()
    assert "data-pick-place" in html and "G2" in html


def test_inspector_files_a_patrol_report_fixed_on_the_spot(world, client_for):
    lon, lat = INSIDE["G1"]
    response = client_for("inspector", htmx=True).post(
        "/patrol/report/",
        {
            "category": "0101",
            "urgency": "normal",
            "description": "绿化带里有垃圾",
            "lon": str(lon),
            "lat": str(lat),
            "fixed_on_spot": "on",
            "fix_note": "已捡走",
            "photos": photo(),
        },
    )
    assert response.status_code == 200 and response["HX-Redirect"] == "/patrol/"
    case = Case.objects.get()
    assert case.source == Source.PATROL and case.state == State.CLOSED


def test_fixing_on_the_spot_outside_ones_own_grid_files_nothing(world, client_for):
    lon, lat = INSIDE["G3"]
    response = client_for("inspector", htmx=True).post(
        "/patrol/report/",
        {
            "category": "0101",
            "urgency": "normal",
            "description": "别的网格",
            "lon": str(lon),
            "lat": str(lat),
            "fixed_on_spot": "on",
            "fix_note": "已处理",
        },
    )
    assert response.status_code == 422
    assert 'id="id_fixed_on_spot_error"' in response.content.decode()
    assert not Case.objects.exists()


def test_patrol_page_lists_the_handled_case_to_verify(world, client_for, handled_case):
    html = client_for("inspector").get("/patrol/").content.decode()
    assert handled_case.number in html
