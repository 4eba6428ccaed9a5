"""A journey's node graph: successors, ends, reachability, cycles, order and paths.

Pure functions over a `Journey`. An *end* is a way out of the graph: a step without `next`, a
branch or variant without `next` (the customer completes the journey there). References to
nodes that do not exist ("dangling") are left out of every edge here; the validator reports
them on their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from journeys.spec import Experiment, Journey, Split, Step

MAX_PATHS = 5000


@dataclass(frozen=True, slots=True)
class Edge:
    """From one node to the next: through which branch or variant (index), if any."""

    source: str
    target: str | None
    field: str  # the field path that names the target: nodes[2].branches[0].next
    branch: int | None = None
    variant: int | None = None


def index_of(journey: Journey) -> dict[str, int]:
    return {node.id: i for i, node in enumerate(journey.nodes)}


def slots(journey: Journey) -> Iterator[Edge]:
    """Every `next` slot of every node, empty ones (ends) and dangling ones included."""
    for i, node in enumerate(journey.nodes):
        if isinstance(node, Step):
            yield Edge(node.id, node.next, f"nodes[{i}].next")
        elif isinstance(node, Split):
            for j, branch in enumerate(node.branches):
                yield Edge(node.id, branch.next, f"nodes[{i}].branches[{j}].next", branch=j)
        else:
            for j, variant in enumerate(node.variants):
                yield Edge(node.id, variant.next, f"nodes[{i}].variants[{j}].next", variant=j)


def edges(journey: Journey) -> list[Edge]:
    """The slots that lead to an existing node."""
    known = index_of(journey)
    return [edge for edge in slots(journey) if edge.target is not None and edge.target in known]


def successors(journey: Journey) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {node.id: [] for node in journey.nodes}
    for edge in edges(journey):
        assert edge.target is not None
        if edge.target not in found[edge.source]:
            found[edge.source].append(edge.target)
    return found


def has_end(journey: Journey, node_id: str) -> bool:
    """Whether the node has a slot that ends the journey (no `next`)."""
    return any(edge.source == node_id and edge.target is None for edge in slots(journey))


def reachable(journey: Journey, start: str | None = None) -> set[str]:
    """The nodes reachable from `start` (the journey's start by default), itself included."""
    first = journey.start if start is None else start
    nexts = successors(journey)
    if first not in nexts:
        return set()
    seen, stack = {first}, [first]
    while stack:
        for target in nexts[stack.pop()]:
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def reaching_an_end(journey: Journey) -> set[str]:
    """The nodes from which some path ends (dangling slots count as ends: reported apart)."""
    known = index_of(journey)
    done = {
        edge.source for edge in slots(journey) if edge.target is None or edge.target not in known
    }
    before: dict[str, list[str]] = {node.id: [] for node in journey.nodes}
    for edge in edges(journey):
        assert edge.target is not None
        before[edge.target].append(edge.source)
    stack = list(done)
    while stack:
        for source in before[stack.pop()]:
            if source not in done:
                done.add(source)
                stack.append(source)
    return done


def cycles(journey: Journey) -> list[list[str]]:
    """One cycle (its nodes in order, the first repeated at the end) per strongly connected
    group of nodes that loops, in node order (Tarjan's algorithm, iterative)."""
    nexts = successors(journey)
    order = [node.id for node in journey.nodes]
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for root in order:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = nexts[node]
            if position < len(targets):
                work.append((node, position + 1))
                target = targets[position]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1 or node in nexts[node]:
                    groups.append(group)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    position_of = {node_id: i for i, node_id in enumerate(order)}
    found = [_cycle_in(set(group), nexts, position_of) for group in groups]
    return sorted(found, key=lambda cycle: position_of[cycle[0]])


def _cycle_in(group: set[str], nexts: dict[str, list[str]], position: dict[str, int]) -> list[str]:
    """A cycle through the group's first node, walking inside the group."""
    first = min(group, key=position.__getitem__)
    path, seen = [first], {first}
    while True:
        inside = [t for t in nexts[path[-1]] if t in group]
        back = [t for t in inside if t == first]
        if back:
            return [*path, first]
        fresh = [t for t in inside if t not in seen]
        if not fresh:  # cannot happen in a strongly connected group; stay safe
            return [*path, first]
        path.append(fresh[0])
        seen.add(fresh[0])


def topological(journey: Journey) -> list[str] | None:
    """The reachable nodes in an order where every node comes after those leading to it; None
    when the reachable graph has a cycle."""
    nexts = successors(journey)
    alive = reachable(journey)
    incoming = {node_id: 0 for node_id in alive}
    for node_id in alive:
        for target in nexts[node_id]:
            incoming[target] += 1
    ready = [node_id for node_id in (n.id for n in journey.nodes) if node_id in alive]
    ready = [node_id for node_id in ready if incoming[node_id] == 0]
    result: list[str] = []
    while ready:
        node_id = ready.pop(0)
        result.append(node_id)
        for target in nexts[node_id]:
            incoming[target] -= 1
            if incoming[target] == 0:
                ready.append(target)
    return result if len(result) == len(alive) else None


def paths(journey: Journey, limit: int = MAX_PATHS) -> tuple[list[list[str]], bool]:
    """Every path from the start to an end (at most `limit`), and whether that is all of them.
    Assumes no cycle (check `topological` first)."""
    nexts = successors(journey)
    if journey.start not in nexts:
        return [], True
    found: list[list[str]] = []
    stack: list[list[str]] = [[journey.start]]
    while stack:
        path = stack.pop()
        last = path[-1]
        if has_end(journey, last) or not nexts[last]:
            found.append(path)
            if len(found) >= limit:
                return found, not stack
        for target in reversed(nexts[last]):
            stack.append([*path, target])
    return found, True


def node_kind(journey: Journey, node_id: str) -> str:
    node = journey.node(node_id)
    if isinstance(node, Split):
        return "split"
    if isinstance(node, Experiment):
        return "experiment"
    return "step"
