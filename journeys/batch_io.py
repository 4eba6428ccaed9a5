"""The runner's set-based reads and writes for a batch of claimed tasks: the batch's enrolments
then customers locked up front, rounds with one task per enrolment, the enrolments and tasks
locked in id order, conversions and exits per journey version, and the approved items and
customers the sends need, each in one query."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import ApprovalItem, Customer, JourneyEnrolment, JourneyTask
from journeys.exits import find_exits, mark_conversions
from journeys.progress import apply_exit
from journeys.spec import Journey, Step


def rounds_by_enrolment(
    task_ids: Sequence[str], enrolment_of: Mapping[str, str]
) -> list[list[str]]:
    """The tasks in rounds that hold at most one task per enrolment (in their order), so each
    task of an enrolment sees what the one before it did."""
    rounds: list[list[str]] = []
    depth: dict[str, int] = {}
    for task_id in dict.fromkeys(task_ids):
        level = depth.get(enrolment_of[task_id], -1) + 1
        depth[enrolment_of[task_id]] = level
        if level == len(rounds):
            rounds.append([])
        rounds[level].append(task_id)
    return rounds


def lock_up_front(
    session: Session, enrolment_ids: Iterable[str], customers: Iterable[tuple[str, str]]
) -> None:
    """Lock every enrolment, then every customer ((workspace, customer) pairs) the batch can
    touch, each in id order, before anything else: the rounds' later locks of them wait on no
    one, so a batch of several rounds takes them in the one global order (enrolments, as the
    sweeps end them; then customers, as the gate and the feedback webhook take them; the audit
    heads last). A customer that no longer exists is left to the step that needs it."""
    session.execute(
        select(JourneyEnrolment.id)
        .where(JourneyEnrolment.id.in_(sorted(set(enrolment_ids))))
        .order_by(JourneyEnrolment.id)
        .with_for_update()
    ).all()
    by_workspace: dict[str, set[str]] = {}
    for workspace_id, customer_id in customers:
        by_workspace.setdefault(workspace_id, set()).add(customer_id)
    for workspace_id, ids in sorted(by_workspace.items()):
        session.execute(
            select(Customer.id)
            .where(Customer.workspace_id == workspace_id, Customer.id.in_(sorted(ids)))
            .order_by(Customer.id)
            .with_for_update()
        ).all()


def lock_batch(
    session: Session, task_ids: Sequence[str], enrolment_of: Mapping[str, str], worker_id: str
) -> tuple[dict[str, JourneyEnrolment], dict[str, JourneyTask]]:
    """Lock the enrolments, then the tasks still claimed by this worker, each in id order
    (as `end_enrolment` does, enrolment first: an exit or an opt-out waits for a send in
    flight instead of deadlocking with it)."""
    enrolments = session.scalars(
        select(JourneyEnrolment)
        .where(JourneyEnrolment.id.in_(sorted({enrolment_of[t] for t in task_ids})))
        .order_by(JourneyEnrolment.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    tasks = session.scalars(
        select(JourneyTask)
        .where(
            JourneyTask.id.in_(sorted(task_ids)),
            JourneyTask.status == "claimed",
            JourneyTask.claimed_by == worker_id,
        )
        .order_by(JourneyTask.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {e.id: e for e in enrolments}, {t.id: t for t in tasks}


def end_by_exits(
    session: Session, ready: Sequence[tuple[JourneyEnrolment, Journey]], now: datetime
) -> set[str]:
    """Mark conversions, then end the enrolments an exit holds for; the ids that ended. One
    query per journey version (and per exit), not per task."""
    groups: dict[tuple[str, str, str], list[JourneyEnrolment]] = {}
    specs: dict[tuple[str, str, str], Journey] = {}
    for enrolment, journey in ready:
        key = (enrolment.workspace_id, journey.id, enrolment.version)
        groups.setdefault(key, []).append(enrolment)
        specs[key] = journey
    ended: set[str] = set()
    for key, members in groups.items():
        workspace_id, _, version = key
        journey = specs[key]
        ids = [e.id for e in members]
        if mark_conversions(session, workspace_id, journey, version, now, enrolment_ids=ids):
            for enrolment in members:
                session.refresh(enrolment)
        if not journey.exits:
            continue
        hits = find_exits(session, workspace_id, journey, version, now, enrolment_ids=ids)
        for hit in hits:
            if apply_exit(session, hit, journey, now=now):
                ended.add(hit.enrolment_id)
    return ended


@dataclass(frozen=True, slots=True)
class Prepared:
    """What the round's sends need, read once: the approved items and the customers."""

    items: dict[tuple[str, str], ApprovalItem]
    customers: dict[tuple[str, str], Customer]

    @classmethod
    def load(
        cls,
        session: Session,
        ready: Sequence[tuple[JourneyTask, JourneyEnrolment, Journey]],
        now: datetime,
    ) -> Prepared:
        refs: dict[str, set[str]] = {}
        people: dict[str, set[str]] = {}
        for task, _, journey in ready:
            node = journey.node(task.node_id)
            if not isinstance(node, Step):
                continue
            for asset in (node.asset, node.backup_asset):
                if asset is not None and asset.ref:
                    refs.setdefault(task.workspace_id, set()).add(asset.ref)
            people.setdefault(task.workspace_id, set()).add(task.customer_id)
        items: dict[tuple[str, str], ApprovalItem] = {}
        for workspace_id, ids in refs.items():
            for item in session.scalars(
                select(ApprovalItem).where(
                    ApprovalItem.workspace_id == workspace_id, ApprovalItem.id.in_(sorted(ids))
                )
            ):
                items[(workspace_id, item.id)] = item
        customers: dict[tuple[str, str], Customer] = {}
        for workspace_id, ids in people.items():
            for customer in session.scalars(
                select(Customer).where(
                    Customer.workspace_id == workspace_id, Customer.id.in_(sorted(ids))
                )
            ):
                customers[(workspace_id, customer.id)] = customer
        return cls(items, customers)
