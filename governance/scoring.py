"""The scoring engine: answers in, score, risk tier and explanation out. Pure: no database, no clock.

How a template scores (docs/risk-assessments.md has the long form):

1. Only shown questions count: an answer to a question hidden by its `show_if` is ignored.
2. Score = the sum of the `weights` of the given answers (a multiple-choice answer adds each option's weight).
   `max_score` is what the shown questions could add up to, so "34 of 80" reads as a proportion.
3. Tier (templates with `scoring.classifies`): the rules are evaluated in order, and every rule whose `when`
   holds is listed in the explanation. The first matching `force` rule decides the tier. Without one, the
   tier is the most severe of `default_tier` and the tiers of the matching `at_least` rules.
4. Rules may also raise a `flag` (e.g. `gpai`): an obligation that is not a tier.

Each matching rule cites the answers that made it hold (question, answer, and the references of the question
or of the chosen options, such as `Annex III 5(b)`), so a reviewer sees why the tier is what it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from governance.choices import QuestionType
from governance.questionnaire import (
    CHOICE_TYPES,
    TIER_RANK,
    answer_label,
    answer_references,
    condition_holds,
    iter_questions,
    questions_by_id,
    supporting_leaves,
    visible_answers,
    visible_question_ids,
)

TIER_LABELS = {"minimal": "Minimal risk", "limited": "Limited risk", "high": "High risk", "prohibited": "Prohibited"}


@dataclass(frozen=True)
class Citation:
    """An answer that made a rule hold."""

    question: str
    text: str
    answer: str
    references: list[str]


@dataclass(frozen=True)
class RuleOutcome:
    """A rule whose condition held, and whether it decided the tier."""

    rule: str
    tier: str | None
    mode: str
    flag: str
    reference: str
    explanation: str
    decisive: bool
    because: list[Citation]


@dataclass(frozen=True)
class Contribution:
    """The weight one answer added to the score."""

    question: str
    reference: str
    answer: str
    weight: float


@dataclass(frozen=True)
class Result:
    score: float
    max_score: float
    tier: str | None
    summary: str
    rules: list[RuleOutcome] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    contributions: list[Contribution] = field(default_factory=list)

    @property
    def decisive_references(self) -> list[str]:
        refs: list[str] = []
        for outcome in self.rules:
            if outcome.decisive:
                for ref in [outcome.reference, *(r for c in outcome.because for r in c.references)]:
                    if ref and ref not in refs:
                        refs.append(ref)
        return refs

    def explanation(self) -> dict[str, Any]:
        """The JSON stored on the assessment and returned by the API."""
        return {
            "summary": self.summary,
            "rules": [asdict(outcome) for outcome in self.rules],
            "flags": list(self.flags),
            "contributions": [asdict(c) for c in self.contributions],
            "references": self.decisive_references,
        }


def _weight(question: Mapping[str, Any], answer: Any) -> float:
    weights = question.get("weights") or {}
    if not weights or answer in (None, "", []):
        return 0
    if question["type"] == QuestionType.YES_NO:
        return weights.get("yes" if answer else "no", 0)
    if question["type"] == QuestionType.MULTIPLE_CHOICE:
        return sum(weights.get(v, 0) for v in answer)
    return weights.get(str(answer), 0)


def _max_weight(question: Mapping[str, Any]) -> float:
    weights = question.get("weights") or {}
    if not weights:
        return 0
    if question["type"] == QuestionType.MULTIPLE_CHOICE:
        return sum(w for w in weights.values() if w > 0)
    return max(0, *weights.values())


def _citations(rule: Mapping[str, Any], answers: Mapping[str, Any], questions: dict) -> list[Citation]:
    cited: dict[str, Citation] = {}
    for leaf in supporting_leaves(rule["when"], answers):
        qid = leaf["question"]
        if qid in cited or qid not in questions:
            continue
        question = questions[qid].data
        answer = answers.get(qid)
        refs = answer_references(question, answer)
        if question["type"] in CHOICE_TYPES and len(refs) > 1 and question.get("reference"):
            refs = refs[1:]  # the chosen options' references are more precise than the question's
        cited[qid] = Citation(qid, question["text"], answer_label(question, answer), refs)
    return list(cited.values())


def score(definition: Mapping[str, Any], answers: Mapping[str, Any]) -> Result:
    """Score `answers` (already cleaned, see questionnaire.clean_answers) against a normalised definition."""
    shown = visible_question_ids(definition, answers)
    effective = visible_answers(definition, answers)
    questions = questions_by_id(definition)

    total, maximum, contributions = 0.0, 0.0, []
    for question in iter_questions(definition):
        if question.id not in shown:
            continue
        maximum += _max_weight(question.data)
        weight = _weight(question.data, effective.get(question.id))
        if weight:
            total += weight
            contributions.append(
                Contribution(
                    question.id,
                    question.get("reference", ""),
                    answer_label(question.data, effective[question.id]),
                    weight,
                )
            )

    scoring = definition.get("scoring", {})
    classifies = scoring.get("classifies", False)
    matched: list[dict[str, Any]] = [
        rule for rule in scoring.get("rules", []) if condition_holds(rule.get("when"), effective)
    ]

    tier: str | None = None
    decisive_ids: set[str] = set()
    if classifies:
        forced = next((r for r in matched if r.get("tier") and r["mode"] == "force"), None)
        if forced is not None:
            tier, decisive_ids = forced["tier"], {forced["id"]}
        else:
            tier = scoring["default_tier"]
            floors = [r for r in matched if r.get("tier") and r["mode"] == "at_least"]
            for rule in floors:
                if TIER_RANK[rule["tier"]] > TIER_RANK[tier]:
                    tier = rule["tier"]
            decisive_ids = {r["id"] for r in floors if r["tier"] == tier}

    outcomes = [
        RuleOutcome(
            rule=rule["id"],
            tier=rule.get("tier"),
            mode=rule["mode"],
            flag=rule.get("flag", ""),
            reference=rule.get("reference", ""),
            explanation=rule["explanation"],
            decisive=rule["id"] in decisive_ids,
            because=_citations(rule, effective, questions),
        )
        for rule in matched
    ]
    flags = sorted({rule["flag"] for rule in matched if rule.get("flag")})
    total, maximum = round(total, 4), round(maximum, 4)
    summary = _summary(tier, outcomes, total, maximum, classifies, scoring.get("default_tier"))
    return Result(total, maximum, tier, summary, outcomes, flags, contributions)


def _summary(
    tier: str | None,
    outcomes: list[RuleOutcome],
    total: float,
    maximum: float,
    classifies: bool,
    default_tier: str | None,
) -> str:
    if not classifies:
        score_text = f"Score {total:g} of {maximum:g}." if maximum else ""
        return score_text or "This template records answers; it does not classify a risk tier."
    decisive = [o for o in outcomes if o.decisive]
    if not decisive:
        why = f"no rule applies, so the template's default ({TIER_LABELS[default_tier].lower()}) stands"
    else:
        why = "; ".join(
            o.explanation + (f" ({', '.join(refs)})" if (refs := _outcome_refs(o)) else "") for o in decisive
        )
    return f"{TIER_LABELS[tier]}: {why}."


def _outcome_refs(outcome: RuleOutcome) -> list[str]:
    refs: list[str] = []
    for ref in [*(r for c in outcome.because for r in c.references), outcome.reference]:
        if ref and ref not in refs:
            refs.append(ref)
    return refs


def suggested_risks(definition: Mapping[str, Any], answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Risk-register entries the template suggests for these answers (questions with a `risk` hint)."""
    effective = visible_answers(definition, answers)
    suggestions = []
    for question in iter_questions(definition):
        hint = question.get("risk")
        if hint and question.id in effective and condition_holds(hint.get("when"), effective):
            suggestions.append(
                {
                    "question": question.id,
                    "reference": question.get("reference", ""),
                    "title": hint["title"],
                    "category": hint["category"],
                }
            )
    return suggestions
