"""Fail on any import cycle between raidline's modules, function-level imports included.

import-linter's contracts say which floor may import which; they do not forbid two modules of
one floor from importing each other, and a cycle hidden behind an import inside a function is
still a cycle. grimp (import-linter's graph) reads every ``import`` statement of a module,
wherever it stands, so this check sees those too. A package's ``__init__`` importing its own
submodules (its face) is not a cycle in itself; a submodule importing its package's face back
while the face imports it is.

Run: ``python -m tests.contracts.cycles`` (``make lint`` does); exit status 1 lists each cycle.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

import grimp

PACKAGES = ("bot", "adapters", "storage")


def import_graph() -> dict[str, set[str]]:
    """Module -> the raidline modules it imports (any import, anywhere in the module)."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    return {
        module: {m for m in graph.find_modules_directly_imported_by(module) if m != module}
        for module in graph.modules
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        # iterative Tarjan: (node, iterator over its successors)
        work: list[tuple[str, Iterable[str]]] = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def main() -> int:
    found = cycles(import_graph())
    for component in found:
        print("import cycle: " + " <-> ".join(component))
    if found:
        print(f"{len(found)} import cycle(s) between raidline modules", file=sys.stderr)
        return 1
    print("no import cycles between raidline modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
