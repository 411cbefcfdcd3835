from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from civicgrid.accounts.models import Department, Role, User
from civicgrid.audit.models import AuditEntry
from civicgrid.cases import sla
from civicgrid.cases.models import Category, HourType, SlaPolicy
from civicgrid.cases.services import category_upsert_many, sla_policy_upsert_many
from civicgrid.cases.services.taxonomy import DATA_DIR, category_rows_from_document, read_json
from civicgrid.core.errors import NotAllowed, ValidationFailed

DEPARTMENTS = ["CG", "SCJG", "XF", "SRLH", "WY", "FG", "ZF"]


@pytest.fixture
def departments(db):
    return {code: Department.objects.create(code=code, name=code) for code in DEPARTMENTS}


def shipped_rows():
    return category_rows_from_document(read_json(DATA_DIR / "categories.json"))


def shipped_policies():
    return read_json(DATA_DIR / "sla_policies.json")["policies"]


def test_the_shipped_taxonomy_loads_with_two_levels_and_coded_classes(departments):
    result = category_upsert_many(rows=shipped_rows())

    majors = Category.objects.filter(parent__isnull=True)
    minors = Category.objects.filter(parent__isnull=False)
    assert result.created == majors.count() + minors.count()
    assert majors.count() >= 8 and minors.count() >= 40
    assert {c.kind for c in majors} == {"component", "event"}
    assert all(len(c.code) == 2 for c in majors)
    assert all(len(c.code) == 4 and c.code.startswith(c.parent.code) for c in minors)
    assert all(c.kind == c.parent.kind for c in minors)
    assert Category.objects.get(code="0803").default_department.code == "XF"
    assert [q["code"] for q in Category.objects.get(code="0402").questions] == [
        "depth_cm",
        "traffic",
    ]


def test_loading_the_same_file_twice_changes_nothing(departments):
    category_upsert_many(rows=shipped_rows())
    sla_policy_upsert_many(rows=shipped_policies())
    before = list(Category.objects.values_list("id", "code", "name", "parent_id"))
    audit_rows = AuditEntry.objects.count()

    cats = category_upsert_many(rows=shipped_rows())
    policies = sla_policy_upsert_many(rows=shipped_policies())

    assert (cats.created, cats.updated) == (0, 0)
    assert (policies.created, policies.updated) == (0, 0)
    assert list(Category.objects.values_list("id", "code", "name", "parent_id")) == before
    assert SlaPolicy.objects.count() == len(shipped_policies())
    assert AuditEntry.objects.count() == audit_rows


def test_a_renamed_class_is_updated_in_place(departments):
    category_upsert_many(rows=shipped_rows())
    old = Category.objects.get(code="0501")
    rows = [dict(r, name="占道设摊") if r["code"] == "0501" else r for r in shipped_rows()]

    result = category_upsert_many(rows=rows)

    assert result.updated == 1
    new = Category.objects.get(code="0501")
    assert (new.pk, new.name) == (old.pk, "占道设摊")
    assert AuditEntry.objects.filter(action="category.upsert_many").count() == 2


def test_a_bad_row_names_its_field_and_writes_nothing(departments):
    rows = shipped_rows()
    rows[5] = dict(rows[5], code="9901")  # a minor class outside its major class

    with pytest.raises(ValidationFailed) as e:
        category_upsert_many(rows=rows)

    assert e.value.field == "rows[5].code"
    assert not Category.objects.exists()


def test_an_unknown_department_is_refused_unless_departments_are_left_alone(departments):
    rows = [
        {"code": "01", "name": "市容环境", "kind": "event", "default_department": "NOPE"},
    ]
    with pytest.raises(ValidationFailed) as e:
        category_upsert_many(rows=rows)
    assert e.value.field == "rows[0].default_department"

    category_upsert_many(rows=rows, with_departments=False)
    assert Category.objects.get(code="01").default_department is None


def test_a_minor_class_must_have_the_kind_of_its_major_class(departments):
    rows = [
        {"code": "01", "name": "市容环境", "kind": "event"},
        {"code": "0101", "name": "暴露垃圾", "kind": "component", "parent": "01"},
    ]
    with pytest.raises(ValidationFailed) as e:
        category_upsert_many(rows=rows)
    assert e.value.field == "rows[1].kind"


def test_a_list_question_without_values_is_refused(departments):
    question = {"code": "q", "label": "问", "datatype": "singlevaluelist", "values": []}
    rows = [{"code": "01", "name": "市容环境", "kind": "event", "questions": [question]}]
    with pytest.raises(ValidationFailed) as e:
        category_upsert_many(rows=rows)
    assert e.value.field == "rows[0].questions[0].values"


def test_only_an_administrator_may_change_the_taxonomy(departments):
    dispatcher = User.objects.create_user(username="d", password="x", role=Role.DISPATCHER)
    with pytest.raises(NotAllowed):
        category_upsert_many(rows=shipped_rows(), actor=dispatcher)
    with pytest.raises(NotAllowed):
        sla_policy_upsert_many(rows=[], actor=dispatcher)
    assert not Category.objects.exists()


def test_sla_policies_apply_minor_then_major_then_default(departments):
    category_upsert_many(rows=shipped_rows())
    sla_policy_upsert_many(rows=shipped_policies())

    def policy(code, urgency="normal"):
        p = sla.policy_for(Category.objects.get(code=code), urgency)
        return p.hours, p.hour_type

    assert policy("0101") == (8, HourType.WORKING)  # its own policy
    assert policy("0402") == (4, HourType.CALENDAR)  # from major class 04 (emergencies)
    assert policy("0501") == (24, HourType.WORKING)  # the default for normal cases
    assert policy("0501", "critical") == (1, HourType.CALENDAR)


def test_a_changed_policy_is_updated_and_a_bad_one_names_its_field(departments):
    category_upsert_many(rows=shipped_rows())
    sla_policy_upsert_many(rows=shipped_policies())

    result = sla_policy_upsert_many(
        rows=[{"category": None, "urgency": "normal", "hours": 16, "hour_type": "working"}]
    )
    assert result.updated == 1
    assert SlaPolicy.objects.get(category=None, urgency="normal").hours == 16

    for bad, field in [
        ({"category": "7777", "urgency": "normal", "hours": 1}, "rows[0].category"),
        ({"category": None, "urgency": "soon", "hours": 1}, "rows[0].urgency"),
        ({"category": None, "urgency": "normal", "hours": 0}, "rows[0].hours"),
        (
            {"category": None, "urgency": "normal", "hours": 2, "hour_type": "x"},
            "rows[0].hour_type",
        ),
    ]:
        with pytest.raises(ValidationFailed) as e:
            sla_policy_upsert_many(rows=[bad])
        assert e.value.field == field


def test_the_command_loads_both_files_and_reports_counts(departments, capsys):
    call_command("load_categories")
    call_command("load_categories")

    out = capsys.readouterr().out
    assert "0 created, 0 updated" in out.splitlines()[-2]
    assert Category.objects.count() == len(shipped_rows())
    assert SlaPolicy.objects.count() == len(shipped_policies())


def test_the_command_reports_a_bad_file_without_a_traceback(departments, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"categories": [{"code": "1", "name": "x", "kind": "event"}]}))

    with pytest.raises(CommandError, match=r"rows\[0\]\.code"):
        call_command("load_categories", str(path), "--no-sla")
    with pytest.raises(CommandError, match=r"missing\.json"):
        call_command("load_categories", str(tmp_path / "missing.json"))
    assert not Category.objects.exists()
