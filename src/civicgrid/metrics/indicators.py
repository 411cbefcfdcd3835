"""The indicators: each is one counter over another (docs/indicators.md, same names)."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .counters import Counts


@dataclass(frozen=True)
class Indicator:
    """`num` / sum(`den`); "one_minus" is 1 − that; "hours" divides seconds by count and 3600."""

    name: str
    label: Promise
    formula: Promise
    num: str
    den: tuple[str, ...]
    kind: str = "ratio"  # "ratio", "one_minus" or "hours"

    @property
    def unit(self) -> str:
        return "hours" if self.kind == "hours" else "rate"

    def compute(self, c: Counts) -> float | None:
        d = c[self.den[0]] if len(self.den) == 1 else sum(c[n] for n in self.den)
        if not d:
            return None
        value = c[self.num] / d
        if self.kind == "one_minus":
            return round(1 - value, 4)
        if self.kind == "hours":
            return round(value / 3600, 2)
        return round(value, 4)


INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "acceptance_rate",
        _("Acceptance rate (立案率)"),
        _("accepted / (accepted + rejected)"),
        "accepted",
        ("accepted", "rejected"),
    ),
    Indicator(
        "dispatch_accuracy",
        _("Dispatch accuracy (派遣准确率)"),
        _("1 − returns / dispatches"),
        "returns",
        ("dispatches",),
        "one_minus",
    ),
    Indicator(
        "on_time_handling_rate",
        _("On-time handling rate (按期处置率)"),
        _("handled_on_time / handled"),
        "handled_on_time",
        ("handled",),
    ),
    Indicator(
        "closure_rate",
        _("Closure rate (结案率)"),
        _("closed / accepted"),
        "closed",
        ("accepted",),
    ),
    Indicator(
        "on_time_closure_rate",
        _("On-time closure rate (按期结案率)"),
        _("closed_on_time / closed"),
        "closed_on_time",
        ("closed",),
    ),
    Indicator(
        "rework_rate",
        _("Rework rate (返工率)"),
        _("verify_failures / (verify_failures + verified)"),
        "verify_failures",
        ("verify_failures", "verified"),
    ),
    Indicator(
        "extension_rate",
        _("Extension rate (延期率)"),
        _("extended / dispatched"),
        "extended",
        ("dispatched",),
    ),
    Indicator(
        "on_time_verification_rate",
        _("On-time verification rate (按期核查率)"),
        _("verified_on_time / verified"),
        "verified_on_time",
        ("verified",),
    ),
    Indicator(
        "average_handling_hours",
        _("Average handling time, hours (平均处置时长)"),
        _("handling_seconds / handled / 3600"),
        "handling_seconds",
        ("handled",),
        "hours",
    ),
    Indicator(
        "satisfaction_rate",
        _("Satisfaction rate (满意率)"),
        _("satisfied / rated"),
        "satisfied",
        ("rated",),
    ),
)

# The 12345 trio: the same counters, over the cases whose source is the hotline.
HOTLINE: tuple[Indicator, ...] = (
    Indicator(
        "response_rate",
        _("12345 response rate (响应率)"),
        _("responded / reported, source = hotline"),
        "responded",
        ("reported",),
    ),
    Indicator(
        "resolution_rate",
        _("12345 resolution rate (解决率)"),
        _("closed / accepted, source = hotline"),
        "closed",
        ("accepted",),
    ),
    Indicator(
        "satisfaction_rate",
        _("12345 satisfaction rate (满意率)"),
        _("satisfied / rated, source = hotline"),
        "satisfied",
        ("rated",),
    ),
)

BY_NAME = {i.name: i for i in INDICATORS}


def _compiled(which: tuple[Indicator, ...]) -> Callable[[Counts], dict[str, float | None]]:
    """One plain function computing every indicator of `which` (the arithmetic of
    `Indicator.compute`, unrolled): a ranking computes thousands of them per request.

    It reads the counters it needs as one tuple, and remembers its last few thousand answers:
    the same counts give the same figures, and a ranking polled again finds most of its rows
    unchanged. Each caller gets its own copy of the answer.
    """
    fields = sorted({n for i in which for n in (i.num, *i.den)})
    at = {name: k for k, name in enumerate(fields)}
    lines = ["def f(t):"]
    for n, i in enumerate(which):
        den = " + ".join(f"t[{at[d]}]" for d in i.den)
        value = f"t[{at[i.num]}] / d{n}"
        expr = {
            "ratio": f"round({value}, 4)",
            "one_minus": f"round(1 - {value}, 4)",
            "hours": f"round({value} / 3600, 2)",
        }[i.kind]
        lines += [f"    d{n} = {den}", f"    v{n} = {expr} if d{n} else None"]
    lines.append("    return {" + ", ".join(f"{i.name!r}: v{n}" for n, i in enumerate(which)) + "}")
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), namespace)  # source built above from constant names only
    cached = functools.lru_cache(maxsize=4096)(namespace["f"])
    read = operator.itemgetter(*fields)

    def compute_all(c: Counts) -> dict[str, float | None]:
        return dict(cached(read(c)))

    return compute_all


_compute = {id(INDICATORS): _compiled(INDICATORS), id(HOTLINE): _compiled(HOTLINE)}


def compute(counts: Counts, which: tuple[Indicator, ...] = INDICATORS) -> dict[str, float | None]:
    fn = _compute.get(id(which)) or _compiled(which)
    return fn(counts)
