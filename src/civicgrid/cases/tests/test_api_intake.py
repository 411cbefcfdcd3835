"""Reporting through the API: placing, deadlines, duplicates, and every kind of bad input."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from civicgrid.cases.models import Case, CaseEvent, Source, State
from civicgrid.core.testing import INSIDE, OUTSIDE
from civicgrid.geo.coords import wgs84_to_bd09, wgs84_to_gcj02

from .conftest import png_bytes


def body(**over):
    lon, lat = INSIDE["G1"]
    return {"category": "0101", "description": "楼道堆物", "lon": lon, "lat": lat, **over}


def test_hotline_system_files_a_case_that_lands_on_its_grid_with_deadline(world, hotline_api):
    r = hotline_api.post("/cases", body(reporter_phone="13800000000"))
    assert r.status_code == 201, r.content
    out = r.json()
    case = Case.objects.get(number=out["case"]["number"])
    assert case.source == Source.HOTLINE
    assert case.management_grid.code == "G1" and case.unit_grid.code == "G1-U0"
    assert case.region_path == world.regions["C1"].path
    assert case.deadline is not None and out["case"]["deadline"]
    assert out["case"]["state"] == State.REPORTED
    assert case.timeline.get().action == "report"


def test_gcj02_and_bd09_points_are_stored_as_wgs84(world, hotline_api):
    lon, lat = INSIDE["G2"]
    for crs, convert in (("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)):
        clon, clat = convert(lon, lat)
        r = hotline_api.post("/cases", body(lon=clon, lat=clat, crs=crs))
        assert r.status_code == 201, r.content
        case = Case.objects.get(number=r.json()["case"]["number"])
        assert abs(case.lon - lon) < 1e-6 and abs(case.lat - lat) < 1e-6
        assert case.management_grid.code == "G2"


def test_second_report_nearby_suggests_the_first_as_duplicate(world, hotline_api):
    first = hotline_api.post("/cases", body()).json()["case"]["number"]
    lon, lat = INSIDE["G1"]
    r = hotline_api.post("/cases", body(lon=lon + 0.0003, lat=lat))  # ~30 m east
    dups = r.json()["duplicates"]
    assert [d["number"] for d in dups] == [first]
    assert 20 < dups[0]["distance_m"] < 40
    far = hotline_api.post("/cases", body(lon=lon + 0.003, lat=lat)).json()  # ~300 m
    assert far["duplicates"] == []
    other_category = hotline_api.post("/cases", body(category="0102")).json()
    assert other_category["duplicates"] == []


def test_anonymous_resident_can_report_and_track_by_number(world):
    client = Client()
    r = client.post("/api/cases", body(source="hotline"), content_type="application/json")
    assert r.status_code == 422 and r.json()["field"] == "source"
    r = client.post("/api/cases", body(), content_type="application/json")
    assert r.status_code == 201
    number = r.json()["case"]["number"]
    assert Case.objects.get(number=number).source == Source.RESIDENT
    public = client.get(f"/api/public/cases/{number}").json()
    assert public["state"] == "reported" and public["deadline"] and public["overdue"] is False
    assert "reporter_phone" not in public


def assert_refused(r, status, field):
    assert r.status_code == status, r.content
    data = r.json()
    assert data["field"] == field, data
    assert data["detail"]


def test_bad_input_is_refused_naming_the_field_and_writes_nothing(world, hotline_api):
    before = (Case.objects.count(), CaseEvent.objects.count())
    assert_refused(hotline_api.post("/cases", body(category="9999")), 422, "category")
    assert_refused(hotline_api.post("/cases", body(category="01")), 422, "category")
    assert_refused(
        hotline_api.post("/cases", body(lon=OUTSIDE[0], lat=OUTSIDE[1])), 422, "location"
    )
    assert_refused(hotline_api.post("/cases", body(lat=95)), 422, "lat")
    assert_refused(hotline_api.post("/cases", body(lon="east")), 422, "lon")
    assert_refused(hotline_api.post("/cases", body(crs="mars")), 422, "crs")
    assert_refused(hotline_api.post("/cases", body(description="")), 422, "description")
    assert_refused(hotline_api.post("/cases", body(urgency="panic")), 422, "urgency")
    assert_refused(
        hotline_api.post("/cases", body(photos=["00000000-0000-0000-0000-000000000000"])),
        422,
        "photos",
    )
    r = hotline_api.post("/cases", raw="{not json")
    assert r.status_code in (400, 422) and r.json()["detail"]
    r = hotline_api.post("/cases", raw="[1, 2]")
    assert r.status_code in (400, 422)
    assert (Case.objects.count(), CaseEvent.objects.count()) == before


def test_unauthenticated_list_is_401(world):
    assert Client().get("/api/cases").status_code == 401


def upload(client: Client, data: bytes, name: str = "p.png", ctype: str = "image/png"):
    return client.post(
        "/api/cases/uploads", {"file": SimpleUploadedFile(name, data, content_type=ctype)}
    )


def test_photo_upload_is_checked_by_content_and_attached_to_the_case(world):
    client = Client()
    r = upload(client, b"GIF89a not really", name="x.png")
    assert r.status_code == 422 and r.json()["field"] == "file"
    r = upload(client, b"<?php echo 1; ?>", name="x.jpg", ctype="image/jpeg")
    assert r.status_code == 422
    r = upload(client, png_bytes())
    assert r.status_code == 201
    photo = r.json()["id"]
    created = client.post("/api/cases", body(photos=[photo]), content_type="application/json")
    assert created.status_code == 201
    case = Case.objects.get(number=created.json()["case"]["number"])
    assert case.attachments.get().upload_id.hex == photo.replace("-", "")
    # An upload is attached once only.
    again = client.post("/api/cases", body(photos=[photo]), content_type="application/json")
    assert again.status_code == 422 and again.json()["field"] == "photos"


def test_upload_strips_exif_location(world):
    from PIL import Image

    from civicgrid.cases.models import Upload

    r = upload(Client(), png_bytes(exif_gps=True), name="gps.jpg", ctype="image/jpeg")
    assert r.status_code == 201
    stored = Upload.objects.get(pk=r.json()["id"])
    with stored.file.open("rb") as f, Image.open(f) as img:
        assert 0x8825 not in img.getexif()


def test_oversized_upload_is_413_or_422(world, settings):
    settings.CIVICGRID = {**settings.CIVICGRID, "UPLOAD_MAX_BYTES": 1000}
    r = upload(Client(), png_bytes(size=(400, 400)) + b"\0" * 2000)
    assert r.status_code in (413, 422) and r.json()["field"] == "file"


def test_nul_characters_are_refused_not_a_500(world, hotline_api):
    for field in ("description", "address", "reporter_name"):
        r = hotline_api.post("/cases", body(**{field: "bad\x00text"}))
        assert r.status_code == 422 and r.json()["field"] == field, (field, r.content)
    r = hotline_api.post("/cases", body(extra={"k": "v\x00"}))
    assert r.status_code == 422 and r.json()["field"].startswith("extra")
    assert Case.objects.count() == 0
