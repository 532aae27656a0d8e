"""Quorum arithmetic for approval committees: pure functions, no database.

A committee's rule is one of: at least N approvals (`count`), at least a fraction of its eligible members
(`fraction`, rounded up, at least one), or every eligible member (`unanimous`). Optionally a single
rejection vetoes. Members who may not vote on a request (its submitter, the version's author, the model's
owners) are not eligible and do not count towards the rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from governance.choices import QuorumRule


class Outcome(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Tally:
    outcome: Outcome
    needed: int
    approvals: int
    rejections: int
    eligible: int
    reason: str = ""


def approvals_needed(rule: QuorumRule, *, eligible: int, min_approvals: int = 1, fraction: float = 0.5) -> int:
    if rule == QuorumRule.COUNT:
        return max(1, min_approvals)
    if rule == QuorumRule.FRACTION:
        return max(1, math.ceil(round(fraction * eligible, 9)))
    return max(1, eligible)


def evaluate(
    rule: QuorumRule,
    *,
    eligible: int,
    approvals: int,
    rejections: int,
    min_approvals: int = 1,
    fraction: float = 0.5,
    veto: bool = False,
) -> Tally:
    """The committee's outcome given its eligible members and the votes cast so far."""
    needed = approvals_needed(rule, eligible=eligible, min_approvals=min_approvals, fraction=fraction)

    def tally(outcome: Outcome, reason: str = "") -> Tally:
        return Tally(outcome, needed, approvals, rejections, eligible, reason)

    if needed > eligible:
        return tally(Outcome.REJECTED, f"quorum impossible: {needed} approvals needed, {eligible} eligible member(s)")
    if rejections and (veto or rule == QuorumRule.UNANIMOUS):
        return tally(Outcome.REJECTED, "vetoed by a rejection")
    if approvals >= needed:
        return tally(Outcome.APPROVED)
    undecided = max(0, eligible - approvals - rejections)
    if approvals + undecided < needed:
        return tally(Outcome.REJECTED, f"quorum can no longer be reached ({needed} needed)")
    return tally(Outcome.PENDING)
