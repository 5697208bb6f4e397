"""Who may see and work on what: one rule for the pages and the REST API.

A task is offered to its candidate groups and users; a person sees the tasks assigned to them or offered to
them (admins see every inbox, to reassign stuck work). Instances and their variables are read by those who
operate the plant, and otherwise only by whoever started the instance or has a task in it: a worker token
must not read another order's variables. The ledger and payments are for the finance permission.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, or_, true

from taktflow.engine.definitions.start_forms import StartForm
from taktflow.engine.store.models import ProcessInstance, TaskCandidate, UserTask
from taktflow.web.auth.service import OPERATE, WORK, Principal


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """Tasks assigned to the person, or offered to one of their groups or to them by name."""
    offered = [UserTask.assignee == principal.name, exists().where(
        TaskCandidate.task_id == UserTask.id, TaskCandidate.kind == "user", TaskCandidate.value == principal.name)]
    if principal.groups:
        offered.append(exists().where(TaskCandidate.task_id == UserTask.id, TaskCandidate.kind == "group",
                                      TaskCandidate.value.in_(sorted(principal.groups))))
    return or_(*offered)


def tasks_visible_to(principal: Principal) -> ColumnElement[bool]:
    """`visible_to`, or every task for those who see all inboxes."""
    return true() if principal.sees_all_tasks else visible_to(principal)


def may_see(principal: Principal, row: UserTask) -> bool:
    return (principal.sees_all_tasks or row.assignee == principal.name
            or principal.name in row.candidate_users or bool(principal.groups & set(row.candidate_groups)))


def may_work_on(principal: Principal, row: UserTask) -> bool:
    """Claim or complete: visible and not claimed by somebody else."""
    return may_see(principal, row) and row.assignee in (None, principal.name)


def may_assign_to_others(principal: Principal) -> bool:
    """Claiming a task in another person's name is reassignment: an admin's job (Camunda's TASK_ASSIGN)."""
    return principal.sees_all_tasks


def instances_visible_to(principal: Principal) -> ColumnElement[bool]:
    """Instances the caller may read with their variables and history."""
    if principal.may(OPERATE) or principal.sees_all_tasks:
        return true()
    return or_(ProcessInstance.started_by == principal.name,
               exists().where(UserTask.instance_id == ProcessInstance.id, visible_to(principal)))


def may_start(principal: Principal, form: StartForm) -> bool:
    """Camunda's candidate starters: a process naming none may be started by anyone who works."""
    if not principal.may(WORK):
        return False
    if not form.candidate_groups and not form.candidate_users:
        return True
    return (principal.sees_all_tasks or principal.name in form.candidate_users
            or bool(principal.groups & form.candidate_groups))


RELEASE_REFUSED = "releasing a work order is for planners and operations"  # the 403 of page and API alike


def may_release_work_orders(principal: Principal) -> bool:
    """Releasing a work order is the planner's decision (Odoo's MRP user), or plant operations'."""
    return principal.may(OPERATE) or "planner" in principal.groups


# Where each person lands after logging in: the first rule that matches, by role and then by group; the
# inbox for everybody else. Operators of a work center land on its board (their shop-floor terminal).
LANDING_BY_ROLE = {"admin": "/cockpit", "operator": "/cockpit", "designer": "/designer", "accountant": "/erp/payments"}
LANDING_BY_GROUP = (("planner", "/erp/mrp"), ("sales", "/erp/sales"), ("purchasing", "/erp/purchasing"),
                    ("warehouse", "/erp/deliveries"))
OPERATOR_GROUP_PREFIX = "operator_"


def landing_page(principal: Principal) -> str:
    if principal.role in LANDING_BY_ROLE:
        return LANDING_BY_ROLE[principal.role]
    for group, page in LANDING_BY_GROUP:
        if group in principal.groups:
            return page
    work_centers = sorted(g.removeprefix(OPERATOR_GROUP_PREFIX) for g in principal.groups
                          if g.startswith(OPERATOR_GROUP_PREFIX))
    if work_centers:
        return f"/mes/work-centers/{work_centers[0]}"
    return "/inbox"
