"""Resident pages: report without an account, track by number, rate with the private link."""

from __future__ import annotations

import re

from civicgrid.cases.models import AttachmentKind, Case, CaseSupport, Feedback, State
from civicgrid.cases.services import case_close, case_create, case_verify
from civicgrid.core.testing import INSIDE, OUTSIDE

from .conftest import photo


def _report_data(**over):
    lon, lat = INSIDE["G1"]
    data = {
        "category": "0101",
        "description": "楼道口垃圾三天没人清",
        "address": "甲小区 3 号楼",
        "lon": str(lon),
        "lat": str(lat),
        "crs": "wgs84",
    }
    data.update(over)
    return data


def test_pages_are_chinese_by_default(world, client, chinese_default):
    response = client.get("/")
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.content.decode()


def test_anonymous_resident_reports_with_a_photo_and_gets_a_private_link(world, client_for):
    client = client_for(None, htmx=True)
    response = client.post("/report/", {**_report_data(), "photos": photo()})
    assert response.status_code == 200
    case = Case.objects.get()
    assert response["HX-Redirect"] == f"/report/{case.number}/thanks/"
    assert case.source == "resident" and case.reporter is None
    assert case.attachments.get().kind == AttachmentKind.PHOTO

    thanks = client.get(response["HX-Redirect"])
    assert f"/track/{case.number}/?token={case.tracking_token}" in thanks.content.decode()


def test_report_without_a_place_is_422_with_the_error_at_the_location(world, client_for):
    client = client_for(None, htmx=True)
    response = client.post("/report/", _report_data(lon="", lat=""))
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#report-form"
    html = response.content.decode()
    assert 'id="id_lon_error"' in html and "tap the map" in html
    assert not Case.objects.exists()


def test_report_outside_every_grid_is_refused_at_the_location_and_nothing_is_written(
    world, client_for
):
    lon, lat = OUTSIDE
    response = client_for(None, htmx=True).post(
        "/report/", _report_data(lon=str(lon), lat=str(lat))
    )
    assert response.status_code == 422
    assert "outside every grid" in response.content.decode()
    assert not Case.objects.exists()


def test_photos_already_sent_ride_along_when_another_field_fails(world, client_for):
    client = client_for(None, htmx=True)
    first = client.post("/report/", {**_report_data(category=""), "photos": photo()})
    assert first.status_code == 422
    ids = re.search(r'name="photo_ids" value="([^"]+)"', first.content.decode()).group(1)

    second = client.post("/report/", {**_report_data(), "photo_ids": ids})
    assert second.status_code == 200
    case = Case.objects.get()
    assert [str(a.upload_id) for a in case.attachments.all()] == [ids]


def test_a_file_that_is_not_an_image_is_refused_next_to_the_photo_field(world, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    response = client_for(None, htmx=True).post("/report/", {**_report_data(), "photos": bad})
    assert response.status_code == 422
    assert 'id="id_photos_error"' in response.content.decode()
    assert not Case.objects.exists()


def test_tracking_page_shows_the_public_timeline_but_no_staff_detail(
    world, client_for, dispatched_case
):
    dispatched_case.reporter_phone = "13800001111"
    dispatched_case.save()
    dispatched_case.timeline.filter(action="dispatch").update(note="请城管张三处理")
    response = client_for(None).get(f"/track/{dispatched_case.number}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Dispatch" in html and "楼下垃圾堆放" in html
    assert "张三" not in html and "13800001111" not in html


def test_tracking_an_unknown_number_says_so_next_to_the_number(world, client_for):
    response = client_for(None).get("/track/", {"number": "nope"})
    assert response.status_code == 404
    assert 'id="id_number_error"' in response.content.decode()


def _closed(world, handled_case) -> Case:
    case_verify(case=handled_case, actor=world.user("inspector"), ok=True)
    return case_close(case=handled_case, actor=world.user("dispatcher"))


def test_anonymous_reporter_rates_a_closed_case_with_the_private_token(world, client_for):
    lon, lat = INSIDE["G1"]
    case = case_create(actor=None, category="0101", description="路灯不亮", lon=lon, lat=lat).case
    from civicgrid.cases.services import case_accept, case_dispatch, case_report_handled, case_take

    case_accept(case=case, actor=world.user("dispatcher"))
    case_dispatch(case=case, lead=world.departments["CG"], actor=world.user("dispatcher"))
    case_take(case=case, actor=world.user("handler"))
    case_report_handled(case=case, actor=world.user("handler"), note="修好了")
    _closed(world, case)
    client = client_for(None, htmx=True)

    page = client.get(f"/track/{case.number}/", {"token": str(case.tracking_token)})
    assert 'id="feedback-form"' in page.content.decode()

    wrong = client.post(
        f"/track/{case.number}/feedback/", {"satisfaction": "5", "token": "not-the-token"}
    )
    assert wrong.status_code == 403
    assert not Feedback.objects.exists()

    ok = client.post(
        f"/track/{case.number}/feedback/",
        {"satisfaction": "4", "text": "很快", "token": str(case.tracking_token)},
    )
    assert ok.status_code == 200
    assert Feedback.objects.get(case=case).satisfaction == 4
    assert "data-rated" in ok.content.decode()


def test_without_the_token_no_rating_form_is_offered(world, client_for, handled_case):
    case = _closed(world, handled_case)
    page = client_for(None).get(f"/track/{case.number}/")
    assert 'id="feedback-form"' not in page.content.decode()


def test_signed_in_reporter_rates_without_a_token(world, client_for, handled_case):
    case = _closed(world, handled_case)
    client = client_for("resident", htmx=True)
    assert 'id="feedback-form"' in client.get(f"/track/{case.number}/").content.decode()
    response = client.post(f"/track/{case.number}/feedback/", {"satisfaction": "5"})
    assert response.status_code == 200
    assert Feedback.objects.get(case=case).user == world.user("resident")


def test_rating_without_a_choice_is_422_next_to_the_satisfaction(world, client_for, handled_case):
    case = _closed(world, handled_case)
    response = client_for("resident", htmx=True).post(f"/track/{case.number}/feedback/", {})
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#feedback-form"
    assert "id_satisfaction_error" in response.content.decode()
    assert not Feedback.objects.exists()


def test_another_resident_says_me_too_and_follows_the_case(world, client_for, reported_case):
    client = client_for("resident2", htmx=True)
    response = client.post(f"/track/{reported_case.number}/support/")
    assert response.status_code == 200
    assert CaseSupport.objects.filter(case=reported_case, user=world.user("resident2")).exists()
    home = client_for("resident2").get("/")
    assert reported_case.number in home.content.decode()


def test_the_minor_class_select_narrows_to_the_chosen_major_class(world, client_for):
    html = client_for(None).get("/categories/options/", {"major": "01"}).content.decode()
    assert 'value="0101"' in html and 'value="0102"' in html
    none = client_for(None).get("/categories/options/", {"major": "99"}).content.decode()
    assert "0101" not in none


def test_category_suggestions_match_chinese_and_english_names(world, client_for):
    zh = client_for(None).get("/categories/suggest/", {"q": "垃圾"}).content.decode()
    assert 'data-pick-category="0101"' in zh and "0102" not in zh
    en = client_for(None).get("/categories/suggest/", {"q": "vending"}).content.decode()
    assert 'data-pick-category="0102"' in en


def test_service_area_is_the_management_grids_as_geojson(world, client_for):
    data = client_for(None).get("/service-area.geojson").json()
    assert sorted(f["properties"]["code"] for f in data["features"]) == ["G1", "G2", "G3"]


def test_reporter_reopens_a_closed_case_that_is_not_fixed(world, client_for, handled_case):
    case = _closed(world, handled_case)
    response = client_for("resident", htmx=True).post(
        f"/track/{case.number}/reopen/", {"reason": "垃圾又堆回来了"}
    )
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.state == State.ACCEPTED and case.reopen_count == 1
