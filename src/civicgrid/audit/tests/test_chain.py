"""The audit log is tamper-evident: an edit, a deletion or an insertion in the middle is found.

What the chain alone cannot show (a whole re-hashed chain, a cut-off tail) is written down in
docs/security.md with what covers it.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.services import _digest, audit_record, audit_verify_chain


@pytest.fixture
def chain(db) -> list[AuditEntry]:
    """Six entries written the normal way, as services write them."""
    return [
        audit_record(
            actor=None,
            action="case.accept",
            object_type="cases.case",
            object_id=f"2026-{i:05d}",
            before={"state": "reported"},
            after={"state": "accepted", "note": f"第{i}条"},
        )
        for i in range(6)
    ]


def test_an_untouched_chain_verifies(chain):
    assert audit_verify_chain() == (6, [])
    call_command("verify_audit_chain")


def test_changing_a_field_in_the_middle_is_detected(chain):
    target = chain[2]
    AuditEntry.objects.filter(pk=target.pk).update(after={"state": "rejected"})

    count, bad = audit_verify_chain()

    assert count == 6
    assert bad == [target.pk]
    with pytest.raises(CommandError, match=f"first bad id: {target.pk}"):
        call_command("verify_audit_chain")


def test_rehashing_the_changed_row_breaks_the_next_link(chain):
    """A forger who also recomputes the row's own hash still leaves the next row pointing at the old one."""
    target = AuditEntry.objects.get(pk=chain[2].pk)
    target.actor_label = "someone else"
    new_hash = _digest(target)
    AuditEntry.objects.filter(pk=target.pk).update(actor_label="someone else", hash=new_hash)

    _, bad = audit_verify_chain()

    assert bad == [chain[3].pk]


def test_deleting_a_row_in_the_middle_is_detected(chain):
    AuditEntry.objects.filter(pk=chain[3].pk).delete()  # the queryset path skips the model guard

    count, bad = audit_verify_chain()

    assert count == 5
    assert bad == [chain[4].pk]


def test_inserting_a_row_in_the_middle_is_detected(chain):
    # Make room after row 2 by moving the later rows up (highest first), then slip in a row
    # whose own hash is correct and which links to row 2: the row after it no longer links.
    for entry in reversed(chain[3:]):
        AuditEntry.objects.filter(pk=entry.pk).update(id=entry.pk + 100)
    forged = AuditEntry(
        id=chain[2].pk + 1,
        at=chain[2].at,
        actor_label="system",
        action="case.close",
        object_type="cases.case",
        object_id="2026-99999",
        prev_hash=chain[2].hash,
    )
    forged.hash = _digest(forged)
    AuditEntry.objects.bulk_create([forged])

    count, bad = audit_verify_chain()

    assert count == 7
    assert bad == [chain[3].pk + 100]


def test_swapping_two_rows_is_detected(chain):
    a, b = chain[1], chain[4]
    AuditEntry.objects.filter(pk=a.pk).update(id=1_000_000)
    AuditEntry.objects.filter(pk=b.pk).update(id=a.pk)
    AuditEntry.objects.filter(pk=1_000_000).update(id=b.pk)

    _, bad = audit_verify_chain()

    assert a.pk in bad and b.pk in bad


def test_entries_refuse_update_and_delete_through_the_model(chain):
    entry = AuditEntry.objects.get(pk=chain[0].pk)
    entry.action = "edited"
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()
    assert audit_verify_chain() == (6, [])
