"""Due work: what falls due as the clock moves, run in time order.

Kinds of due work, by the time each falls due: a lifted ``pause_collection`` (its ``resumes_at``),
a renewal or scheduled cancellation (the period end or ``cancel_at``), a payment retry, a Checkout
Session's expiry. At the same instant they run in that order, so a pause that ends exactly at a
period end no longer applies to that renewal. The next item is looked up again after every step,
because each step can schedule another (a renewal sets the next period end, a failed charge its
retry).
"""

from __future__ import annotations

from ..state import State
from .checkout import expire_session
from .renewals import collect, renew, resume_collection
from .subscriptions import period_end

_ORDER = {"resume_collection": 0, "renew": 1, "retry": 2, "expire": 3}


def process_due(em: State, target: int) -> int:
    """Run all work due up to ``target`` in time order, with ``now()`` pinned to each item's time.

    Returns how many items ran.
    """
    processed = 0
    for _ in range(100_000):
        due = _next_due(em)
        if due is None or due[0] > target:
            break
        timestamp, kind, obj_id = due
        with em.pinned(max(timestamp, em.data["clock"]["last"])):
            if kind == "resume_collection":
                resume_collection(em, em.data["subscriptions"][obj_id])
            elif kind == "renew":
                renew(em, em.data["subscriptions"][obj_id])
            elif kind == "retry":
                invoice = em.data["invoices"][obj_id]
                sub = em.data["subscriptions"][
                    invoice["parent"]["subscription_details"]["subscription"]
                ]
                collect(em, sub, invoice, first_attempt=False)
            else:
                expire_session(em, em.data["checkout_sessions"][obj_id])
            em.data["clock"]["last"] = max(int(em.data["clock"]["last"]), timestamp)
        processed += 1
    return processed


def _next_due(em: State) -> tuple[int, str, str] | None:
    candidates: list[tuple[int, int, str, str]] = []

    def add(timestamp: int, kind: str, obj_id: str) -> None:
        candidates.append((timestamp, _ORDER[kind], kind, obj_id))

    for sub in em.data["subscriptions"].values():
        if sub["status"] in ("canceled", "incomplete_expired"):
            continue
        resumes_at = (sub.get("pause_collection") or {}).get("resumes_at")
        if resumes_at is not None:
            add(int(resumes_at), "resume_collection", sub["id"])
        if sub["status"] in ("active", "past_due"):
            boundary = period_end(sub)
            if sub.get("cancel_at") is not None:
                boundary = min(boundary, int(sub["cancel_at"]))
            add(boundary, "renew", sub["id"])
    for invoice in em.data["invoices"].values():
        if invoice["status"] == "open" and invoice.get("_retry_at"):
            add(int(invoice["_retry_at"][0]), "retry", invoice["id"])
    for session in em.data["checkout_sessions"].values():
        if session["status"] == "open":
            add(int(session["expires_at"]), "expire", session["id"])
    if not candidates:
        return None
    timestamp, _order, kind, obj_id = min(candidates)
    return timestamp, kind, obj_id
