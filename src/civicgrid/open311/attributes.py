"""A category's extra questions as Open311 service attributes, and checking the answers.

`Category.questions` is a list of `{code, label, label_en, datatype, required, values}`; `values`
items are `{"key": ..., "name": ..., "name_en": ...}` or plain strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from civicgrid.cases.models import Category
from civicgrid.core.errors import ValidationFailed

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
# Names the reporting forms may use for the same kinds of answer.
DATATYPE_ALIASES = {
    "str": "string",
    "int": "number",
    "integer": "number",
    "float": "number",
    "decimal": "number",
    "date": "datetime",
    "choice": "singlevaluelist",
    "select": "singlevaluelist",
    "multichoice": "multivaluelist",
    "multiselect": "multivaluelist",
}
MAX_ANSWER = 1000


def _english() -> bool:
    return (get_language() or "").startswith("en")


def localized(zh: str, en: str) -> str:
    """The English text to English clients when there is one; the Chinese name otherwise."""
    return en if _english() and en else zh


@dataclass(frozen=True)
class Attribute:
    code: str
    description: str
    datatype: str
    required: bool
    order: int
    values: list[tuple[str, str]]  # (key, name)


def _values(raw: Any) -> list[tuple[str, str]]:
    out = []
    for item in raw or ():
        if isinstance(item, Mapping):
            key = str(item.get("key", item.get("value", "")))
            name = str(item.get("name", item.get("label", key)))
            out.append((key, localized(name, str(item.get("name_en", "") or ""))))
        else:
            out.append((str(item), str(item)))
    return out


def attributes_of(category: Category) -> list[Attribute]:
    out = []
    for order, question in enumerate(category.questions or (), start=1):
        if not isinstance(question, Mapping) or not question.get("code"):
            continue  # a malformed question cannot be answered over Open311
        datatype = str(question.get("datatype") or "string").lower()
        datatype = DATATYPE_ALIASES.get(datatype, datatype)
        if datatype not in DATATYPES:
            datatype = "string"
        label = str(question.get("label") or question["code"])
        out.append(
            Attribute(
                code=str(question["code"]),
                description=localized(label, str(question.get("label_en") or "")),
                datatype=datatype,
                required=bool(question.get("required", False)),
                order=order,
                values=_values(question.get("values")),
            )
        )
    return out


def definition_dict(category: Category) -> dict[str, Any]:
    """GET services/{service_code}: the service definition."""
    attributes = []
    for a in attributes_of(category):
        entry: dict[str, Any] = {
            "variable": True,
            "code": a.code,
            "datatype": a.datatype,
            "required": a.required,
            "datatype_description": None,
            "order": a.order,
            "description": a.description,
        }
        if a.datatype in ("singlevaluelist", "multivaluelist"):
            entry["values"] = [{"key": key, "name": name} for key, name in a.values]
        attributes.append(entry)
    return {"service_code": category.code, "attributes": attributes}


def _field(code: str) -> str:
    return f"attribute[{code}]"


def _one(a: Attribute, value: str) -> Any:
    if len(value) > MAX_ANSWER:
        raise ValidationFailed(
            _("%(field)s is too long.") % {"field": _field(a.code)}, field=_field(a.code)
        )
    if a.datatype == "number":
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if number != number or number in (float("inf"), float("-inf")):
            raise ValidationFailed(
                _("%(field)s must be a number.") % {"field": _field(a.code)}, field=_field(a.code)
            )
        return int(number) if number.is_integer() else number
    if a.datatype == "datetime":
        parsed = parse_datetime(value)
        if parsed is None:
            raise ValidationFailed(
                _("%(field)s must be a date and time like 2026-05-01T08:30:00+08:00.")
                % {"field": _field(a.code)},
                field=_field(a.code),
            )
        return parsed.isoformat()
    if a.datatype in ("singlevaluelist", "multivaluelist"):
        keys = [key for key, _name in a.values]
        if value not in keys:
            raise ValidationFailed(
                _("%(field)s must be one of: %(keys)s.")
                % {"field": _field(a.code), "keys": ", ".join(keys)},
                field=_field(a.code),
            )
    return value


def answers_check(category: Category, raw: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Validate `attribute[CODE]` answers against the service definition; returns code → value."""
    defined = {a.code: a for a in attributes_of(category)}
    for code in raw:
        if code not in defined:
            raise ValidationFailed(
                _("%(field)s is not an attribute of service %(service)s.")
                % {"field": _field(code), "service": category.code},
                field=_field(code),
            )
    answers: dict[str, Any] = {}
    for code, a in defined.items():
        values = [v.strip() for v in raw.get(code, ()) if v.strip()]
        if not values:
            if a.required:
                raise ValidationFailed(
                    _("%(field)s is required.") % {"field": _field(code)}, field=_field(code)
                )
            continue
        if a.datatype == "multivaluelist":
            answers[code] = [_one(a, v) for v in dict.fromkeys(values)]
        elif len(values) > 1:
            raise ValidationFailed(
                _("%(field)s takes one value.") % {"field": _field(code)}, field=_field(code)
            )
        else:
            answers[code] = _one(a, values[0])
    return answers
