"""The demo's departments and accounts: one or more of every role, all with one printed password."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from civicgrid.accounts.models import Department, Role, TokenSource, User
from civicgrid.accounts.services import api_token_create

from . import texts
from .layout import Block, Layout

PASSWORD = "demo1234"


@dataclass
class Cast:
    """Who plays which part, so the history can pick the right actor for each step."""

    departments: dict[str, Department] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    hotline_token: str = ""

    def by_sub(self, role: str, sub: Block) -> User:
        return self.users[f"{role}_{sub.key}"]

    def inspector_of(self, community: Block) -> User:
        return self.users[f"inspector_{community.code}"]

    def handler(self, department: str) -> User:
        return self.users[f"handler_{department.lower()}"]

    @property
    def residents(self) -> list[User]:
        return [u for name, u in sorted(self.users.items()) if name.startswith("resident")]


def _person(rng: random.Random) -> str:
    return rng.choice(texts.SURNAMES) + rng.choice(texts.GIVEN)


def create_cast(layout: Layout, rng: random.Random) -> Cast:
    cast = Cast()
    # accounts has no write services yet; these rows have no rules beyond their constraints.
    for code, name, phone in texts.DEPARTMENTS:
        cast.departments[code] = Department.objects.create(code=code, name=name, phone=phone)
    # Hashing once: the same password for every account, and Argon2 is slow on purpose.
    probe = User(username="probe")
    probe.set_password(PASSWORD)
    hashed = probe.password
    district = layout.regions[layout.district.code]

    def make(
        username: str,
        role: str,
        label: str,
        *,
        region_codes: tuple[str, ...] = (),
        grid_codes: tuple[str, ...] = (),
        department: str | None = None,
        superuser: bool = False,
    ) -> User:
        user = User.objects.create(
            username=username,
            password=hashed,
            role=role,
            display_name=f"{_person(rng)}（{label}）",
            phone=f"139{rng.randrange(10**8):08d}",
            department=cast.departments[department] if department else None,
            grid_codes=list(grid_codes),
            is_staff=superuser,
            is_superuser=superuser,
        )
        if region_codes:
            user.regions.set([layout.regions[c] for c in region_codes])
        cast.users[username] = user
        return user

    make("admin", Role.ADMIN, "系统管理员", superuser=True)
    make("ops", Role.OPS_CENTER, "区城运中心", region_codes=(district.code,))
    hotline = make("hotline", Role.OPERATOR, "12345热线对接", region_codes=(district.code,))
    for sub in layout.subdistricts:
        short = sub.name.removesuffix("街道")
        make(f"operator_{sub.key}", Role.OPERATOR, f"{short}受理员", region_codes=(sub.code,))
        make(f"dispatcher_{sub.key}", Role.DISPATCHER, f"{short}派遣员", region_codes=(sub.code,))
        make(f"head_{sub.key}", Role.STATION_HEAD, f"{short}站长", region_codes=(sub.code,))
        for i, com in enumerate(sub.children, start=1):
            user = make(
                f"inspector_{sub.key}{i}",
                Role.INSPECTOR,
                f"{com.name}网格员",
                grid_codes=tuple(g.code for g in com.children),
            )
            cast.users[f"inspector_{com.code}"] = user
    for code, name, _phone in texts.DEPARTMENTS:
        make(f"handler_{code.lower()}", Role.DEPARTMENT_HANDLER, name, department=code)
    for i in range(1, 4):
        make(f"resident{i}", Role.RESIDENT, "居民")
    _token, cast.hotline_token = api_token_create(
        user=hotline, name="12345热线平台", source=TokenSource.HOTLINE
    )
    return cast
