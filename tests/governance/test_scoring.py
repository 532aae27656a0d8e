"""The scoring engine, table-driven over the seeded EU AI Act template, and the questionnaire rules it uses
(conditional questions, answer checks, required questions)."""

from __future__ import annotations

import pytest

from governance import questionnaire, scoring
from governance.frameworks import FRAMEWORKS_DIR, read_template_file, template_files
from tests.governance.conftest import CREDIT_SCORING, EU_BASELINE


@pytest.fixture(scope="module")
def eu():
    return read_template_file(FRAMEWORKS_DIR / "eu-ai-act.yaml").definition


SCENARIOS = [
    # name, answers, expected tier, references the explanation must cite, flags
    ("credit scoring", CREDIT_SCORING, "high", ["Annex III 5(b)", "Art. 6(3)"], []),
    (
        "spam filter",
        {**EU_BASELINE, "intended_purpose": "Moves unsolicited email to a junk folder."},
        "minimal",
        [],
        [],
    ),
    (
        "customer-service chatbot",
        {**EU_BASELINE, "art50_1_interaction": True, "art50_disclosure": "A banner says it is an AI system."},
        "limited",
        ["Art. 50(1)", "Art. 50"],
        [],
    ),
    ("social scoring", {**EU_BASELINE, "art5_1_c": True}, "prohibited", ["Art. 5(1)(c)"], []),
    (
        "CV screening",
        {
            **EU_BASELINE,
            "annex3_applies": True,
            "annex3_points": ["4a"],
            "art6_3_profiling": False,
            "art6_3_conditions": ["none"],
        },
        "high",
        ["Annex III 4(a)", "Art. 6(2)"],
        [],
    ),
    (
        "Annex III system with an Art. 6(3) derogation and no profiling",
        {
            **EU_BASELINE,
            "annex3_applies": True,
            "annex3_points": ["4a"],
            "art6_3_profiling": False,
            "art6_3_conditions": ["a"],
            "art6_4_documentation": "Only de-duplicates incoming applications.",
        },
        "minimal",
        [],
        ["art6_3_derogation"],
    ),
    (
        "medical device needing third-party conformity assessment",
        {**EU_BASELINE, "annex1_product": True, "annex1_legislation": "MDR", "annex1_third_party": True},
        "high",
        ["Art. 6(1)(b)", "Art. 6(1)"],
        [],
    ),
    (
        "Annex I product without third-party conformity assessment",
        {**EU_BASELINE, "annex1_product": True, "annex1_legislation": "Toys", "annex1_third_party": False},
        "minimal",
        [],
        [],
    ),
    (
        "a prohibited practice outranks an Annex III area",
        {**CREDIT_SCORING, "art5_1_b": True},
        "prohibited",
        ["Art. 5(1)(b)"],
        [],
    ),
    (
        "a high-risk chatbot is high, not limited",
        {**CREDIT_SCORING, "art50_1_interaction": True, "art50_disclosure": "Told at the start."},
        "high",
        ["Annex III 5(b)"],
        [],
    ),
    (
        "general-purpose model with systemic risk that talks to people",
        {
            **EU_BASELINE,
            "gpai_model": True,
            "gpai_systemic": True,
            "art50_1_interaction": True,
            "art50_2_synthetic": True,
            "art50_2_marking": True,
        },
        "limited",
        ["Art. 50(1)"],
        ["gpai", "gpai_systemic_risk"],
    ),
    (
        "answers to hidden questions do not count",
        {**EU_BASELINE, "annex3_points": ["5b"], "art6_3_profiling": True},
        "minimal",
        [],
        [],
    ),
]


@pytest.mark.parametrize(("name", "answers", "tier", "references", "flags"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_eu_ai_act_classification(eu, name, answers, tier, references, flags):
    clean, errors = questionnaire.clean_answers(eu, answers)
    assert errors == {}
    result = scoring.score(eu, clean)
    assert result.tier == tier, result.summary
    for reference in references:
        assert reference in result.decisive_references, f"{reference} missing from {result.decisive_references}"
    assert result.flags == sorted(flags)
    assert result.summary.startswith(scoring.TIER_LABELS[tier])


def test_explanation_names_the_answers_behind_the_tier(eu):
    result = scoring.score(eu, CREDIT_SCORING)
    decisive = [o for o in result.rules if o.decisive]
    assert [o.rule for o in decisive] == ["annex3-profiling"]
    cited = {c.question: c for c in decisive[0].because}
    assert cited["annex3_points"].references == ["Annex III 5(b)"]
    assert "creditworthiness" in cited["annex3_points"].answer
    assert cited["art6_3_profiling"].answer == "Yes"
    assert "Annex III 5(b)" in result.summary
    explanation = result.explanation()
    assert explanation["references"][:2] == ["Art. 6(3)", "Annex III 5(b)"]


def test_transparency_is_listed_but_not_decisive_when_high_risk(eu):
    result = scoring.score(eu, {**CREDIT_SCORING, "art50_1_interaction": True})
    outcomes = {o.rule: o for o in result.rules}
    assert outcomes["transparency"].decisive is False
    assert outcomes["annex3-profiling"].decisive is True


def test_score_adds_weights_of_shown_answers_only(eu):
    baseline = scoring.score(eu, EU_BASELINE)
    assert baseline.score == 0
    credit = scoring.score(eu, CREDIT_SCORING)
    assert credit.score == 40  # Annex III 5(b) 30 + profiling 10
    assert {c.question for c in credit.contributions} == {"annex3_points", "art6_3_profiling"}
    assert credit.max_score > baseline.max_score, "the Annex III questions appear and can add to the score"


def test_default_tier_when_nothing_applies(eu):
    result = scoring.score(eu, {})
    assert result.tier == "minimal"
    assert result.rules == []
    assert "default" in result.summary


# --- Conditional questions ------------------------------------------------------------------------------


def test_follow_up_questions_appear_with_their_trigger(eu):
    hidden = questionnaire.visible_question_ids(eu, EU_BASELINE)
    assert "annex3_points" not in hidden and "art6_3_profiling" not in hidden
    shown = questionnaire.visible_question_ids(eu, {**EU_BASELINE, "annex3_applies": True})
    assert {"annex3_points", "art6_3_profiling"} <= shown
    assert "art6_3_conditions" not in shown, "the derogations only follow a 'no profiling' answer"
    deeper = questionnaire.visible_question_ids(eu, {**EU_BASELINE, "annex3_applies": True, "art6_3_profiling": False})
    assert "art6_3_conditions" in deeper


def test_a_hidden_trigger_hides_its_whole_chain(eu):
    answers = {**EU_BASELINE, "annex3_applies": False, "art6_3_profiling": False, "art6_3_conditions": ["a"]}
    shown = questionnaire.visible_question_ids(eu, answers)
    assert "art6_3_conditions" not in shown and "art6_4_documentation" not in shown


def test_required_follow_ups_are_required_only_when_shown(eu):
    assert questionnaire.missing_answers(eu, EU_BASELINE) == {}
    missing = questionnaire.missing_answers(eu, {**EU_BASELINE, "annex3_applies": True})
    assert set(missing) == {"annex3_points", "art6_3_profiling"}
    missing = questionnaire.missing_answers(eu, {**EU_BASELINE, "art50_2_synthetic": True})
    assert set(missing) == {"art50_2_marking", "art50_disclosure"}


def test_required_evidence_question_needs_evidence():
    definition = questionnaire.validate_definition(
        {
            "sections": [
                {
                    "id": "s",
                    "title": "S",
                    "questions": [{"id": "doc", "text": "Attach", "type": "evidence", "required": True}],
                }
            ]
        }
    )
    assert questionnaire.missing_answers(definition, {}) == {"doc": "Attach evidence (a file or a link)."}
    assert questionnaire.missing_answers(definition, {}, {"doc"}) == {}


@pytest.mark.parametrize(
    ("question", "value", "message"),
    [
        ("eu_nexus", "perhaps", "Answer yes or no."),
        ("operator_role", "regulator", "Choose one of the listed options."),
        ("annex3_points", ["5b", "9z"], "'9z' is not one of the listed options."),
        ("art6_3_conditions", ["a", "none"], "'None of these' cannot be combined with other options."),
        ("annex1_legislation", "x" * 501, "At most 500 characters."),
    ],
)
def test_answers_are_checked_per_question(eu, question, value, message):
    _, errors = questionnaire.clean_answers(eu, {question: value})
    assert errors == {question: message}


def test_answers_are_coerced_to_their_stored_form(eu):
    clean, errors = questionnaire.clean_answers(
        eu, {"eu_nexus": "yes", "annex3_points": ["5b", "4a", "5b"], "intended_purpose": "  text  ", "gpai_model": ""}
    )
    assert errors == {}
    assert clean == {"eu_nexus": True, "annex3_points": ["4a", "5b"], "intended_purpose": "text", "gpai_model": None}


# --- The seeded templates -----------------------------------------------------------------------------------


def test_every_seed_file_is_valid_and_keys_are_unique():
    files = {f.key: f for f in template_files()}
    assert set(files) == {"eu-ai-act", "nist-ai-rmf", "iso-42001"}
    for file in files.values():
        assert questionnaire.validate_definition(file.definition) == file.definition, "normalising is idempotent"


def test_eu_ai_act_covers_the_regulation():
    eu = read_template_file(FRAMEWORKS_DIR / "eu-ai-act.yaml").definition
    refs = {
        ref
        for q in questionnaire.iter_questions(eu)
        for ref in questionnaire.answer_references(q.data, [o["value"] for o in q.get("options", [])])
    }
    for letter in "abcdefgh":
        assert f"Art. 5(1)({letter})" in refs
    for point in [
        "1(a)",
        "1(b)",
        "1(c)",
        "2",
        "3(a)",
        "3(d)",
        "4(a)",
        "4(b)",
        "5(a)",
        "5(b)",
        "5(c)",
        "5(d)",
        "6(e)",
        "7(d)",
        "8(a)",
        "8(b)",
    ]:
        assert f"Annex III {point}" in refs
    for letter in "abcd":
        assert f"Art. 6(3)({letter})" in refs
    for paragraph in "1234":
        assert f"Art. 50({paragraph})" in refs
    assert "Art. 6(1)(a), Annex I" in refs and "Art. 3(63), Art. 51" in refs


def test_nist_ai_rmf_has_a_question_per_category():
    nist = read_template_file(FRAMEWORKS_DIR / "nist-ai-rmf.yaml").definition
    refs = {q.get("reference") for q in questionnaire.iter_questions(nist)}
    categories = {"GOVERN": 6, "MAP": 5, "MEASURE": 4, "MANAGE": 4}
    for function, count in categories.items():
        for number in range(1, count + 1):
            assert any(r == f"{function} {number}" or r.startswith(f"{function} {number}.") for r in refs), (
                f"{function} {number}"
            )
    assert "MAP 1.1" in refs


def test_iso_42001_lists_the_38_annex_a_controls_with_evidence():
    iso = read_template_file(FRAMEWORKS_DIR / "iso-42001.yaml").definition
    controls = [q for q in questionnaire.iter_questions(iso) if q.type == "single_choice"]
    assert len(controls) == 38
    assert all(q["evidence"] for q in controls)
    assert [s["title"].split()[0] for s in iso["sections"]] == [f"A.{n}" for n in range(2, 11)]


# --- Definition checks --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "problem"),
    [
        ({"sections": []}, "sections: a non-empty list"),
        (
            {"sections": [{"id": "s", "title": "S", "questions": [{"id": "q", "text": "Q", "type": "colour"}]}]},
            "sections[0].questions[0] (q).type: one of",
        ),
        (
            {
                "sections": [
                    {
                        "id": "s",
                        "title": "S",
                        "questions": [
                            {"id": "a", "text": "A", "type": "yes_no", "show_if": {"question": "b", "equals": True}},
                            {"id": "b", "text": "B", "type": "yes_no"},
                        ],
                    }
                ]
            },
            "refers to 'b', which is not a question before this point",
        ),
        (
            {
                "sections": [{"id": "s", "title": "S", "questions": [{"id": "a", "text": "A", "type": "yes_no"}]}],
                "scoring": {
                    "classifies": True,
                    "default_tier": "minimal",
                    "rules": [
                        {"id": "r", "tier": "severe", "explanation": "x", "when": {"question": "a", "equals": True}}
                    ],
                },
            },
            "scoring.rules[0].tier: one of",
        ),
    ],
)
def test_broken_definitions_are_refused_with_a_path(definition, problem):
    with pytest.raises(questionnaire.DefinitionError) as exc:
        questionnaire.validate_definition(definition)
    assert any(problem in p for p in exc.value.problems), exc.value.problems


def test_number_scale_and_date_answers():
    definition = questionnaire.validate_definition(
        {
            "sections": [
                {
                    "id": "s",
                    "title": "S",
                    "questions": [
                        {"id": "users", "text": "Users?", "type": "number", "min": 0, "max": 1000000},
                        {"id": "maturity", "text": "Maturity?", "type": "scale", "weights": {"1": 0, "5": 4}},
                        {"id": "since", "text": "Since?", "type": "date"},
                        {
                            "id": "big",
                            "text": "Why?",
                            "type": "short_text",
                            "show_if": {"question": "users", "gte": 1000},
                        },
                    ],
                }
            ]
        }
    )
    clean, errors = questionnaire.clean_answers(definition, {"users": "2500", "maturity": "5", "since": "2026-11-24"})
    assert errors == {} and clean == {"users": 2500, "maturity": 5, "since": "2026-11-24"}
    assert "big" in questionnaire.visible_question_ids(definition, clean)
    assert scoring.score(definition, clean).score == 4
    _, errors = questionnaire.clean_answers(definition, {"users": -1, "maturity": 6, "since": "24/11/2026"})
    assert errors == {
        "users": "At least 0.",
        "maturity": "Choose a point from 1 to 5.",
        "since": "Enter a date as YYYY-MM-DD.",
    }
