"""A one-entry memo for facts several rules derive from the same document in a row, and the bounded
sharing of equal values among the records repository rules keep to the end of a run.

The engine runs every rule on one document before the next, so remembering the last answer is
enough (and keeps no document alive longer than the next call). Not a rule module: the registry
skips names starting with `_`.
"""

from __future__ import annotations

import functools

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, TypeVar

    from ..model import Document

    T = TypeVar("T")


def per_document(compute: Callable[..., T]) -> Callable[..., T]:
    """`compute(doc, *extra)`, computed once while the same document (same data) and the same extra
    arguments (by identity, e.g. the run's Context) are asked about again."""
    last: list[Any] = [None, None, (), None]  # document, its data, extra arguments, answer

    code = compute.__code__
    if code.co_argcount == 1 and not code.co_kwonlyargcount and not code.co_flags & _VARIADIC:  # compute(doc), e.g. pod_template

        @functools.wraps(compute)
        def remembered_one(doc: Document) -> T:
            # asked up to seven times per workload document: no argument tuple, no arity test
            if last[0] is doc and last[1] is doc.data:
                return last[3]
            answer = compute(doc)
            last[0], last[1], last[3] = doc, doc.data, answer
            return answer

        return remembered_one

    @functools.wraps(compute)
    def remembered(doc: Document, *extra: Any) -> T:
        if last[0] is doc and last[1] is doc.data:
            # on the hot path: one extra argument (the Context), compared directly
            previous = last[2]
            count = len(extra)
            if count == len(previous) and (
                count == 0 or (previous[0] is extra[0] and (count == 1 or all(a is b for a, b in zip(previous, extra))))
            ):
                return last[3]
        answer = compute(doc, *extra)
        last[0], last[1], last[2], last[3] = doc, doc.data, extra, answer
        return answer

    return remembered


_VARIADIC = 0x04 | 0x08  # CO_VARARGS | CO_VARKEYWORDS


MAX_SHARED = 4096


def shared(table: dict, value: T) -> T:
    """One object for equal values (`table` is the caller's own); sharing is an optimisation, so a
    long-lived process stays bounded."""
    found = table.get(value)
    if found is None:
        if len(table) >= MAX_SHARED:
            table.clear()
        found = table[value] = value
    return found
