"""The world the hard tests attack: build_world() plus cases, hot spots and tokens to aim at.

Every case carries markers that must never show where the viewer may not see it: its number, a
description marker (public on tracking pages, private elsewhere) and reporter name and phone
markers (private everywhere). Who sees what is written out here as a table, independently of
the selectors it checks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from civicgrid.accounts.models import ApiToken, TokenSource, User
from civicgrid.cases import services as cases
from civicgrid.cases.models import Case
from civicgrid.core import clock
from civicgrid.core.testing import INSIDE, World, build_world

# Who sees which cases, by management grid, by department (active assignment) or as reporter.
SEES: dict[str, set[str]] = {
    "operator": {"G1", "G2", "G3"},
    "operator2": {"G3"},
    "dispatcher": {"G1", "G2"},
    "dispatcher2": {"G3"},
    "head": {"G1", "G2"},
    "head2": {"G3"},
    "inspector": {"G1"},
    "inspector3": {"G3"},
    "handler": {"dept:CG"},
    "handler_fire": {"dept:XF"},
    "ops": {"G1", "G2", "G3"},
    "resident": {"reporter:resident"},
    "resident2": {"reporter:resident2"},
    "admin": {"G1", "G2", "G3"},
}
USERS = tuple(SEES)
# Hot spots: staff by area; a department where one of its cases is in the cluster; no resident.
HOTSPOT_SEES: dict[str, set[str]] = {
    **{u: {g for g in seen if g.startswith("G")} for u, seen in SEES.items()},
    "handler": {"G1"},
    "handler_fire": {"G3"},
}
# The one re-inspection plan (and its tasks) is in G1, with "inspector" on its rota.
PLAN_SEES = {"operator", "dispatcher", "head", "ops", "admin", "inspector"}


@dataclass
class Target:
    label: str
    case: Case
    grid: str
    reporter: str
    department: str | None
    marker: str  # in the description
    name_marker: str  # reporter name
    phone_marker: str  # reporter phone

    @property
    def number(self) -> str:
        return self.case.number


@dataclass
class HardWorld:
    world: World
    targets: dict[str, Target] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    hotspots: dict[str, int] = field(default_factory=dict)  # grid -> hot spot id
    plan_id: int = 0
    task_id: int = 0

    def user(self, name: str) -> User:
        return self.world.user(name)

    def visible(self, username: str | None, target: Target) -> bool:
        if username is None:
            return False
        seen = SEES[username]
        return (
            target.grid in seen
            or f"dept:{target.department}" in seen
            or f"reporter:{target.reporter}" in seen
        )

    def inside(self, username: str) -> Target | None:
        return next((t for t in self.targets.values() if self.visible(username, t)), None)

    def outside(self, username: str | None) -> Target | None:
        """A case this user may not see; None for those who see everything."""
        return next((t for t in self.targets.values() if not self.visible(username, t)), None)


def _report(
    hw: HardWorld,
    label: str,
    *,
    grid: str,
    reporter: str,
    dept: str | None = None,
    dx: float = 0.0,
    days_ago: float = 0.0,
) -> Target:
    idx = len(hw.targets)
    marker, name, phone = f"MKD{idx:02d}Q", f"MKN{idx:02d}Q", f"1390000{idx:04d}"
    lon, lat = INSIDE[grid]
    with clock.frozen(clock.now() - dt.timedelta(days=days_ago)):
        case = cases.case_create(
            actor=hw.user(reporter),
            category="0101",
            description=f"垃圾 {marker}",
            address=f"路口 {marker}",
            reporter_name=name,
            reporter_phone=phone,
            lon=lon + dx,
            lat=lat,
        ).case
    if dept is not None:
        head = "head" if grid in ("G1", "G2") else "head2"
        cases.case_accept(case=case, actor=hw.user(head))
        cases.case_dispatch(
            case=case, lead=hw.world.departments[dept], actor=hw.user(head), note=""
        )
        case.refresh_from_db()
    target = Target(label, case, grid, reporter, dept, marker, name, phone)
    hw.targets[label] = target
    return target


def build_hard_world(*, hotspots: bool = True) -> HardWorld:
    hw = HardWorld(world=build_world())
    _report(hw, "g1_cg", grid="G1", reporter="resident", dept="CG")
    _report(hw, "g2_new", grid="G2", reporter="operator")
    _report(hw, "g3_xf", grid="G3", reporter="resident2", dept="XF")
    _report(hw, "g3_new", grid="G3", reporter="operator")
    if hotspots:
        from civicgrid.hotspots.models import Hotspot
        from civicgrid.hotspots.services import hotspot_refresh, recheck_plan_create

        # Three reports at one corner of G1 and of G3 on different days make a hot spot each.
        for grid in ("G1", "G3"):
            for i in range(3):
                _report(
                    hw,
                    f"{grid.lower()}_spot{i}",
                    grid=grid,
                    reporter="operator",
                    dx=0.0001 * i,
                    days_ago=6 - 2 * i,
                )
        hotspot_refresh()
        for spot in Hotspot.objects.select_related("grid"):
            hw.hotspots[spot.grid.code] = spot.pk
        # The departments' cases sit in the clusters: that is why they see those hot spots.
        assert hw.targets["g1_cg"].case.hotspots.filter(pk=hw.hotspots["G1"]).exists()
        assert hw.targets["g3_xf"].case.hotspots.filter(pk=hw.hotspots["G3"]).exists()
        plan = recheck_plan_create(
            hotspot=Hotspot.objects.get(pk=hw.hotspots["G1"]),
            frequency="weekly",
            weeks=2,
            inspectors=[hw.user("inspector")],
            actor=hw.user("head"),
        )
        hw.plan_id = plan.pk
        hw.task_id = plan.tasks.order_by("due_on").values_list("pk", flat=True).first() or 0
    for username in USERS:
        key = ApiToken.new_key()
        ApiToken.objects.create(
            user=hw.user(username),
            name=f"hard-{username}",
            prefix=key[:8],
            key_hash=ApiToken.hash_key(key),
            source=TokenSource.API,
        )
        hw.tokens[username] = key
    return hw
