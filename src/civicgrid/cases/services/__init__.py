"""Every write to cases goes through these functions: pages, API, admin, MQTT and commands alike."""

from .actions import (
    case_accept,
    case_close,
    case_dispatch,
    case_escalate,
    case_extend,
    case_feedback,
    case_merge,
    case_reject,
    case_reopen,
    case_report_handled,
    case_resume,
    case_return,
    case_self_handle,
    case_support,
    case_suspend,
    case_take,
    case_transfer,
    case_verify,
)
from .deadlines import case_sweep_deadlines
from .intake import case_create, duplicate_candidates
from .taxonomy import category_upsert_many, sla_policy_upsert_many
from .uploads import upload_create

__all__ = [
    "case_accept",
    "case_close",
    "case_create",
    "case_dispatch",
    "case_escalate",
    "case_extend",
    "case_feedback",
    "case_merge",
    "case_reject",
    "case_reopen",
    "case_report_handled",
    "case_resume",
    "case_return",
    "case_self_handle",
    "case_support",
    "case_suspend",
    "case_sweep_deadlines",
    "case_take",
    "case_transfer",
    "case_verify",
    "category_upsert_many",
    "duplicate_candidates",
    "sla_policy_upsert_many",
    "upload_create",
]
