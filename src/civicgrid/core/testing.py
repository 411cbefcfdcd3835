"""A small, real world for tests: regions, grids, departments, categories, SLAs and one user per role.

Built through the same services the product uses, so tests exercise real paths, not mocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from civicgrid.accounts.models import ApiToken, Department, Role, TokenSource, User
from civicgrid.cases.models import Category, CategoryKind, HourType, SlaPolicy, Urgency
from civicgrid.geo.locator import reset_locator
from civicgrid.geo.models import GridKind, Region, RegionLevel
from civicgrid.geo.services import GridSpec, generation_activate, generation_import, region_create

# Three management grids side by side, 0.01° wide; G1|G2 share the edge lon=121.41.
LAT0, LAT1 = 31.20, 31.21
GRID_X = {"G1": 121.40, "G2": 121.41, "G3": 121.42}
INSIDE = {"G1": (121.405, 31.205), "G2": (121.415, 31.205), "G3": (121.425, 31.205)}
OUTSIDE = (121.50, 31.50)


def box(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


@dataclass
class World:
    regions: dict[str, Region] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def user(self, name: str) -> User:
        return self.users[name]


def build_world() -> World:
    w = World()
    d = region_create(code="310104", name="示范区", level=RegionLevel.DISTRICT)
    s1 = region_create(code="310104001", name="一街道", level=RegionLevel.SUBDISTRICT, parent=d)
    s2 = region_create(code="310104002", name="二街道", level=RegionLevel.SUBDISTRICT, parent=d)
    c1 = region_create(code="310104001001", name="甲社区", level=RegionLevel.COMMUNITY, parent=s1)
    c2 = region_create(code="310104001002", name="乙社区", level=RegionLevel.COMMUNITY, parent=s1)
    c3 = region_create(code="310104002001", name="丙社区", level=RegionLevel.COMMUNITY, parent=s2)
    w.regions = {"D": d, "S1": s1, "S2": s2, "C1": c1, "C2": c2, "C3": c3}
    community = {"G1": c1, "G2": c2, "G3": c3}
    specs = []
    for code, x in GRID_X.items():
        specs.append(
            GridSpec(
                code=code,
                kind=GridKind.MANAGEMENT,
                region_code=community[code].code,
                geometry=box(x, LAT0, x + 0.01, LAT1),
                name=f"{code} 网格",
            )
        )
        for i, (dx, dy) in enumerate([(0, 0), (0.005, 0), (0, 0.005), (0.005, 0.005)]):
            specs.append(
                GridSpec(
                    code=f"{code}-U{i}",
                    kind=GridKind.UNIT,
                    region_code=community[code].code,
                    geometry=box(x + dx, LAT0 + dy, x + dx + 0.005, LAT0 + dy + 0.005),
                )
            )
    generation_activate(generation=generation_import(label="test", grids=specs))
    reset_locator()

    for code, name in [
        ("CG", "城管"),
        ("SCJG", "市场监管"),
        ("XF", "消防"),
        ("SRLH", "市容绿化"),
        ("WY", "物业"),
    ]:
        w.departments[code] = Department.objects.create(code=code, name=name)
    major = Category.objects.create(
        code="01", name="市容环境", name_en="City appearance", kind=CategoryKind.EVENT
    )
    w.categories["major"] = major
    w.categories["garbage"] = Category.objects.create(
        code="0101",
        name="暴露垃圾",
        name_en="Exposed garbage",
        kind=CategoryKind.EVENT,
        parent=major,
        default_department=w.departments["CG"],
    )
    w.categories["stall"] = Category.objects.create(
        code="0102",
        name="占道经营",
        name_en="Street vending",
        kind=CategoryKind.EVENT,
        parent=major,
        default_department=w.departments["SCJG"],
    )
    SlaPolicy.objects.create(urgency=Urgency.NORMAL, hours=24, hour_type=HourType.WORKING)
    SlaPolicy.objects.create(urgency=Urgency.URGENT, hours=4, hour_type=HourType.CALENDAR)
    SlaPolicy.objects.create(urgency=Urgency.CRITICAL, hours=1, hour_type=HourType.CALENDAR)

    def make(
        name: str,
        role: str,
        *,
        regions: Sequence[Region] = (),
        grids: Sequence[str] = (),
        department: str | None = None,
    ) -> User:
        user = User.objects.create_user(
            username=name,
            password="pw-" + name,
            role=role,
            department=w.departments[department] if department else None,
            grid_codes=list(grids),
        )
        user.regions.set(regions)
        w.users[name] = user
        return user

    make("operator", Role.OPERATOR, regions=[d])
    make("dispatcher", Role.DISPATCHER, regions=[s1])
    make("dispatcher2", Role.DISPATCHER, regions=[s2])
    make("head", Role.STATION_HEAD, regions=[s1])
    make("head2", Role.STATION_HEAD, regions=[s2])
    make("operator2", Role.OPERATOR, regions=[s2])
    make("inspector", Role.INSPECTOR, grids=["G1"])
    make("inspector3", Role.INSPECTOR, grids=["G3"])
    make("handler", Role.DEPARTMENT_HANDLER, department="CG")
    make("handler_fire", Role.DEPARTMENT_HANDLER, department="XF")
    make("ops", Role.OPS_CENTER, regions=[d])
    make("resident", Role.RESIDENT)
    make("resident2", Role.RESIDENT)
    make("admin", Role.ADMIN)
    key = ApiToken.new_key()
    ApiToken.objects.create(
        user=w.users["operator"],
        name="12345 platform",
        prefix=key[:8],
        key_hash=ApiToken.hash_key(key),
        source=TokenSource.HOTLINE,
    )
    w.tokens["hotline"] = key
    return w
