"""Quorum arithmetic, property-based over committee sizes, rules and vote sequences."""

import math

from hypothesis import given
from hypothesis import strategies as st

from governance.quorum import Outcome, QuorumRule, approvals_needed, evaluate


def test_examples():
    assert (
        evaluate(QuorumRule.COUNT, eligible=3, approvals=2, rejections=0, min_approvals=2).outcome == Outcome.APPROVED
    )
    assert evaluate(QuorumRule.COUNT, eligible=3, approvals=1, rejections=1, min_approvals=2).outcome == Outcome.PENDING
    assert (
        evaluate(QuorumRule.COUNT, eligible=3, approvals=1, rejections=2, min_approvals=2).outcome == Outcome.REJECTED
    )
    assert (
        evaluate(QuorumRule.COUNT, eligible=1, approvals=0, rejections=0, min_approvals=2).outcome == Outcome.REJECTED
    )
    assert (
        evaluate(QuorumRule.FRACTION, eligible=5, approvals=3, rejections=0, fraction=0.5).outcome == Outcome.APPROVED
    )
    assert (
        evaluate(QuorumRule.FRACTION, eligible=4, approvals=2, rejections=0, fraction=0.5).outcome == Outcome.APPROVED
    )
    assert evaluate(QuorumRule.UNANIMOUS, eligible=3, approvals=2, rejections=0).outcome == Outcome.PENDING
    assert evaluate(QuorumRule.UNANIMOUS, eligible=3, approvals=2, rejections=1).outcome == Outcome.REJECTED
    veto = evaluate(QuorumRule.COUNT, eligible=5, approvals=4, rejections=1, min_approvals=2, veto=True)
    assert veto.outcome == Outcome.REJECTED and "veto" in veto.reason
    assert evaluate(QuorumRule.COUNT, eligible=0, approvals=0, rejections=0).outcome == Outcome.REJECTED


rules = st.sampled_from(list(QuorumRule))


@st.composite
def committees(draw):
    rule = draw(rules)
    eligible = draw(st.integers(min_value=0, max_value=12))
    minimum = draw(st.integers(min_value=1, max_value=6))
    fraction = draw(st.sampled_from([0.25, 1 / 3, 0.5, 2 / 3, 0.75, 1.0]))
    veto = draw(st.booleans())
    votes = draw(st.lists(st.booleans(), max_size=eligible))  # True = approve, in the order cast
    return rule, eligible, minimum, fraction, veto, votes


@given(committees())
def test_decisions_are_final_and_consistent_along_any_vote_sequence(committee):
    rule, eligible, minimum, fraction, veto, votes = committee
    needed = approvals_needed(rule, eligible=eligible, min_approvals=minimum, fraction=fraction)
    decided = None
    approvals = rejections = 0
    for approve in [None, *votes]:
        if approve is True:
            approvals += 1
        elif approve is False:
            rejections += 1
        tally = evaluate(
            rule,
            eligible=eligible,
            approvals=approvals,
            rejections=rejections,
            min_approvals=minimum,
            fraction=fraction,
            veto=veto,
        )
        if decided is not None:
            # A committee never changes its mind once decided (later votes would be refused anyway).
            continue
        if tally.outcome != Outcome.PENDING:
            decided = tally.outcome
        if tally.outcome == Outcome.APPROVED:
            assert approvals >= needed and approvals <= eligible
            assert not (veto and rejections) and not (rule == QuorumRule.UNANIMOUS and rejections)
        if tally.outcome == Outcome.REJECTED:
            reachable = approvals + (eligible - approvals - rejections) >= needed
            assert not reachable or (rejections and (veto or rule == QuorumRule.UNANIMOUS)) or needed > eligible
        if tally.outcome == Outcome.PENDING:
            assert approvals < needed <= eligible


@given(st.integers(min_value=1, max_value=50), st.sampled_from([0.2, 0.5, 2 / 3, 0.9, 1.0]))
def test_fraction_needs_at_least_that_share(eligible, fraction):
    needed = approvals_needed(QuorumRule.FRACTION, eligible=eligible, fraction=fraction)
    assert needed >= fraction * eligible - 1e-9 and needed == max(1, math.ceil(round(fraction * eligible, 9)))
    assert (needed - 1) < fraction * eligible or needed == 1


@given(st.integers(min_value=1, max_value=20))
def test_unanimity_needs_everyone(eligible):
    assert (
        evaluate(QuorumRule.UNANIMOUS, eligible=eligible, approvals=eligible, rejections=0).outcome == Outcome.APPROVED
    )
    if eligible > 1:
        partial = evaluate(QuorumRule.UNANIMOUS, eligible=eligible, approvals=eligible - 1, rejections=0)
        assert partial.outcome == Outcome.PENDING
