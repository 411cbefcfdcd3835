"""Hot spots are found by clustering and kept up to date idempotently."""

from __future__ import annotations

import datetime as dt
import io

from django.core.management import call_command

from civicgrid.cases import services as cases
from civicgrid.core import clock, scheduler
from civicgrid.hotspots.detection import Point, find_clusters, haversine_m
from civicgrid.hotspots.models import Hotspot, HotspotStatus
from civicgrid.hotspots.services import hotspot_refresh

from .conftest import report

T0 = dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC)


def pts(*coords: tuple[float, float], days: tuple[int, ...] | None = None) -> list[Point]:
    days = days or tuple(range(len(coords)))
    return [
        Point(i, 121.405 + dx, 31.205 + dy, T0 + dt.timedelta(days=d), 1)
        for i, ((dx, dy), d) in enumerate(zip(coords, days, strict=True))
    ]


def test_three_reports_within_50_m_on_different_days_are_a_cluster():
    (c,) = find_clusters(pts((0, 0), (0.0002, 0), (0, 0.0002)), eps_m=50, min_cases=3, min_days=2)
    assert c.case_ids == {0, 1, 2}
    assert 10 < c.radius_m < 20
    assert (c.first_seen, c.last_seen) == (T0, T0 + dt.timedelta(days=2))


def test_two_reports_or_spread_out_reports_or_one_burst_are_not():
    assert find_clusters(pts((0, 0), (0.0001, 0)), eps_m=50, min_cases=3) == []
    spread = pts((0, 0), (0.001, 0), (0.002, 0))  # about 95 m apart each
    assert find_clusters(spread, eps_m=50, min_cases=3) == []
    burst = pts((0, 0), (0.0001, 0), (0, 0.0001), days=(0, 0, 0))
    assert find_clusters(burst, eps_m=50, min_cases=3, min_days=2) == []
    assert len(find_clusters(burst, eps_m=50, min_cases=3, min_days=1)) == 1


def test_haversine_matches_a_known_distance():
    # 0.001° of latitude is about 111 m everywhere.
    assert abs(haversine_m(121.4, 31.2, 121.4, 31.201) - 111.2) < 0.5


def test_refresh_stores_the_hot_spot_with_its_cases_grid_and_times(world, garbage_cases):
    report(world, days_ago=2, dx=0.005)  # far away: noise, in no hot spot
    result = hotspot_refresh()
    (spot,) = Hotspot.objects.all()
    assert result.created == [spot.pk]
    assert set(spot.cases.all()) == set(garbage_cases)
    assert spot.case_count == 4 and spot.status == HotspotStatus.ACTIVE
    assert spot.grid.code == "G1" and spot.category.code == "0101"
    assert spot.region_path == garbage_cases[0].region_path
    assert spot.first_seen == garbage_cases[0].reported_at
    assert spot.last_seen == garbage_cases[-1].reported_at
    assert 0 < spot.radius_m < 30


def test_a_rerun_updates_the_same_hot_spot_instead_of_adding_one(world, hotspot):
    again = hotspot_refresh()
    assert again.created == [] and again.updated == [hotspot.pk]
    report(world, days_ago=0.5, dx=0.0002)  # one more report nearby: the spot grows
    grown = hotspot_refresh()
    assert grown.created == [] and grown.updated == [hotspot.pk]
    assert Hotspot.objects.count() == 1
    assert Hotspot.objects.get(pk=hotspot.pk).case_count == 5


def test_a_hot_spot_whose_cases_age_out_fades_once_and_comes_back_as_itself(world, hotspot):
    later = clock.now() + dt.timedelta(days=45)
    assert hotspot_refresh(now=later).faded == [hotspot.pk]
    assert hotspot_refresh(now=later).faded == []
    hotspot.refresh_from_db()
    assert hotspot.status == HotspotStatus.FADED
    with clock.frozen(later):
        for i, (dx, dy) in enumerate([(0, 0), (0.0001, 0), (0, 0.0001)]):
            report(world, days_ago=3 - i, dx=dx, dy=dy)
    back = hotspot_refresh(now=later)
    assert back.created == [] and back.updated == [hotspot.pk]
    hotspot.refresh_from_db()
    assert hotspot.status == HotspotStatus.ACTIVE and hotspot.case_count == 3
    assert hotspot.first_seen < later - dt.timedelta(days=30)  # remembers when it began


def test_rejected_and_merged_reports_do_not_count(world, garbage_cases):
    dispatcher = world.user("dispatcher")
    cases.case_reject(case=garbage_cases[0], actor=dispatcher, reason="重复")
    cases.case_merge(case=garbage_cases[1], into=garbage_cases[2], actor=dispatcher)
    assert hotspot_refresh().created == []


def test_each_category_has_its_own_hot_spots(world, garbage_cases):
    for i, (dx, dy) in enumerate([(0, 0), (0.0001, 0), (0, 0.0001)]):
        report(world, days_ago=i + 1, dx=dx, dy=dy, category="0102")
    hotspot_refresh()
    assert sorted(Hotspot.objects.values_list("category__code", "case_count")) == [
        ("0101", 4),
        ("0102", 3),
    ]


def test_the_command_and_the_periodic_job_run_the_same_refresh(world, garbage_cases):
    out = io.StringIO()
    call_command("find_hotspots", stdout=out)
    assert "1 new" in out.getvalue()
    call_command("find_hotspots", stdout=out)
    assert "0 new, 1 updated" in out.getvalue()
    assert {"refresh_hotspots", "flag_missed_rechecks", "retry_notifications"} <= {
        j.name for j in scheduler.jobs()
    }
    from civicgrid.hotspots.tasks import refresh_hotspots

    assert refresh_hotspots.enqueue().return_value == {"created": 0, "updated": 1, "faded": 0}
