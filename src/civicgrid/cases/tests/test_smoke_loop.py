from civicgrid.cases import services
from civicgrid.cases.models import State


def test_the_whole_loop_closes_a_case(world, reported_case):
    w = world
    case = services.case_accept(case=reported_case, actor=w.user("dispatcher"))
    case = services.case_dispatch(
        case=case,
        lead=w.departments["CG"],
        co_handlers=[w.departments["WY"]],
        actor=w.user("dispatcher"),
    )
    case = services.case_take(case=case, actor=w.user("handler"))
    case = services.case_report_handled(case=case, actor=w.user("handler"), note="已清运")
    case = services.case_verify(case=case, actor=w.user("inspector"), ok=True)
    case = services.case_close(case=case, actor=w.user("dispatcher"))
    services.case_feedback(case=case, actor=w.user("resident"), satisfaction=5)
    case.refresh_from_db()
    assert case.state == State.CLOSED
    assert [e.action for e in case.timeline.all()] == [
        "report",
        "accept",
        "dispatch",
        "take",
        "report_handled",
        "verify_ok",
        "close",
        "feedback",
    ]
