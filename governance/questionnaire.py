"""Questionnaire templates as data: the definition format, its validation, conditions, visibility and answers.

Pure functions over plain dicts (no database), shared by the services, the runtime forms, the API and the
scoring engine. A definition is `{"sections": [...], "scoring": {...}}`; docs/risk-assessments.md describes
every key. `validate_definition` returns the normalised form that is stored, so the rest of the code can rely
on it: yes/no values are booleans, weight keys are strings, every optional key has its default.

Conditions (`show_if` on sections and questions, `when` on scoring rules) are small JSON trees:
`{"question": id, "equals" | "not_equals" | "in" | "includes" | "includes_any" | "answered" | "gte" | "lte": v}`,
combined with `{"all": [...]}`, `{"any": [...]}` and `{"not": {...}}`. A condition may only name questions
that come before it, so visibility is decided in one pass and can never loop. An unanswered or hidden
question satisfies no comparison (only `answered: false`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from governance.choices import QuestionType, RiskCategory

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
RESERVED_IDS = {"csrfmiddlewaretoken"}  # question ids are form field names in the browser
MAX_SECTIONS = 50
MAX_QUESTIONS = 500
MAX_OPTIONS = 100
SHORT_TEXT_MAX = 500
LONG_TEXT_MAX = 20_000
TIERS = ("minimal", "limited", "high", "prohibited")  # in increasing order of severity
TIER_RANK = {tier: rank for rank, tier in enumerate(TIERS)}
RULE_MODES = ("force", "at_least")
LEAF_OPERATORS = ("equals", "not_equals", "in", "includes", "includes_any", "answered", "gte", "lte")
CHOICE_TYPES = (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE)
SCALE_POINTS = ("1", "2", "3", "4", "5")
_TRUE = {"yes", "true", "y", "1", "on"}
_FALSE = {"no", "false", "n", "0", "off"}


class DefinitionError(ValueError):
    """A template definition that cannot be used; `problems` lists each fault with its path."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class AnswerError(ValueError):
    """One answer that does not fit its question."""


@dataclass(frozen=True)
class Question:
    """A question with the section it belongs to (definitions keep them nested)."""

    section: dict[str, Any]
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def type(self) -> str:
        return self.data["type"]

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def iter_questions(definition: Mapping[str, Any]) -> Iterator[Question]:
    for section in definition.get("sections", []):
        for question in section.get("questions", []):
            yield Question(section, question)


def questions_by_id(definition: Mapping[str, Any]) -> dict[str, Question]:
    return {q.id: q for q in iter_questions(definition)}


# --- Validation and normalisation ---------------------------------------------------------------------


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE:
        return True
    if isinstance(value, str) and value.strip().lower() in _FALSE:
        return False
    return None


def _text(value: Any, path: str, problems: list[str], *, required: bool = True, limit: int = 2000) -> str:
    if value is None or value == "":
        if required:
            problems.append(f"{path}: required")
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        problems.append(f"{path}: must be text")
        return ""
    text = str(value).strip()
    if len(text) > limit:
        problems.append(f"{path}: at most {limit} characters")
    return text


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return value


class _Validator:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.seen: dict[str, dict[str, Any]] = {}  # question id -> normalised question, in order

    def fail(self, message: str) -> None:
        self.problems.append(message)

    # Conditions --------------------------------------------------------------------------------------

    def condition(self, cond: Any, path: str) -> dict[str, Any] | None:
        if not isinstance(cond, Mapping):
            self.fail(f"{path}: a condition is an object")
            return None
        combinators = [k for k in ("all", "any") if k in cond]
        if combinators:
            if len(cond) != 1:
                self.fail(f"{path}: '{combinators[0]}' takes no other keys")
                return None
            key = combinators[0]
            children = cond[key]
            if not isinstance(children, list) or not children:
                self.fail(f"{path}.{key}: a non-empty list of conditions")
                return None
            parts = [self.condition(child, f"{path}.{key}[{i}]") for i, child in enumerate(children)]
            return {key: parts} if all(p is not None for p in parts) else None
        if "not" in cond:
            if len(cond) != 1:
                self.fail(f"{path}: 'not' takes no other keys")
                return None
            inner = self.condition(cond["not"], f"{path}.not")
            return {"not": inner} if inner is not None else None
        return self.leaf(cond, path)

    def leaf(self, cond: Mapping[str, Any], path: str) -> dict[str, Any] | None:
        qid = cond.get("question")
        operators = [k for k in cond if k != "question"]
        if not isinstance(qid, str) or qid not in self.seen:
            self.fail(f"{path}: refers to '{qid}', which is not a question before this point")
            return None
        if len(operators) != 1 or operators[0] not in LEAF_OPERATORS:
            self.fail(f"{path}: use exactly one of {', '.join(LEAF_OPERATORS)}")
            return None
        op, value = operators[0], cond[operators[0]]
        question = self.seen[qid]
        qtype = question["type"]
        values = {o["value"] for o in question.get("options", [])}
        if op == "answered":
            flag = _as_bool(value)
            if flag is None:
                self.fail(f"{path}.answered: true or false")
                return None
            return {"question": qid, "answered": flag}
        if op in ("gte", "lte"):
            if qtype not in (QuestionType.NUMBER, QuestionType.SCALE) or _number(value) is None:
                self.fail(f"{path}.{op}: a number, on a number or scale question")
                return None
            return {"question": qid, op: value}
        if op in ("in", "includes_any"):
            if not isinstance(value, list) or not value:
                self.fail(f"{path}.{op}: a non-empty list")
                return None
            items = [self.comparable(question, v, f"{path}.{op}") for v in value]
            if op == "includes_any" and qtype != QuestionType.MULTIPLE_CHOICE:
                self.fail(f"{path}.includes_any: only for multiple-choice questions")
                return None
            return {"question": qid, op: items}
        if op == "includes" and qtype != QuestionType.MULTIPLE_CHOICE:
            self.fail(f"{path}.includes: only for multiple-choice questions")
            return None
        if qtype in CHOICE_TYPES and value not in values:
            self.fail(f"{path}.{op}: '{value}' is not an option of '{qid}'")
            return None
        return {"question": qid, op: self.comparable(question, value, f"{path}.{op}")}

    def comparable(self, question: dict[str, Any], value: Any, path: str) -> Any:
        qtype = question["type"]
        if qtype == QuestionType.YES_NO:
            flag = _as_bool(value)
            if flag is None:
                self.fail(f"{path}: yes or no")
            return flag
        if qtype in CHOICE_TYPES:
            if value not in {o["value"] for o in question["options"]}:
                self.fail(f"{path}: '{value}' is not an option of '{question['id']}'")
            return value
        if qtype in (QuestionType.NUMBER, QuestionType.SCALE):
            if _number(value) is None:
                self.fail(f"{path}: a number")
            return value
        return str(value)

    # Questions ---------------------------------------------------------------------------------------

    def question(self, raw: Any, path: str) -> dict[str, Any] | None:
        if not isinstance(raw, Mapping):
            self.fail(f"{path}: a question is an object")
            return None
        known = {
            "id",
            "text",
            "help",
            "reference",
            "type",
            "required",
            "show_if",
            "options",
            "weights",
            "evidence",
            "min",
            "max",
            "scale_labels",
            "risk",
            "placeholder",
        }
        for key in sorted(set(raw) - known):
            self.fail(f"{path}.{key}: unknown key")
        qid = raw.get("id")
        if not isinstance(qid, str) or not ID_PATTERN.match(qid):
            self.fail(f"{path}.id: lower-case letters, digits and underscores, starting with a letter")
            return None
        if qid in self.seen:
            self.fail(f"{path}.id: '{qid}' is used twice")
            return None
        if qid in RESERVED_IDS:
            self.fail(f"{path}.id: '{qid}' is reserved")
            return None
        path = f"{path} ({qid})"
        qtype = raw.get("type")
        if qtype not in QuestionType.values:
            self.fail(f"{path}.type: one of {', '.join(QuestionType.values)}")
            return None
        question: dict[str, Any] = {
            "id": qid,
            "text": _text(raw.get("text"), f"{path}.text", self.problems, limit=1000),
            "help": _text(raw.get("help"), f"{path}.help", self.problems, required=False, limit=4000),
            "reference": _text(raw.get("reference"), f"{path}.reference", self.problems, required=False, limit=200),
            "type": qtype,
            "required": bool(_as_bool(raw.get("required", False))),
            "evidence": qtype == QuestionType.EVIDENCE or bool(_as_bool(raw.get("evidence", False))),
        }
        if qtype in CHOICE_TYPES:
            question["options"] = self.options(raw.get("options"), f"{path}.options")
        elif "options" in raw:
            self.fail(f"{path}.options: only choice questions have options")
        if qtype == QuestionType.SCALE:
            labels = raw.get("scale_labels") or {}
            if not isinstance(labels, Mapping) or not {str(k) for k in labels} <= set(SCALE_POINTS):
                self.fail(f"{path}.scale_labels: an object keyed by 1-5")
                labels = {}
            question["scale_labels"] = {str(k): str(v) for k, v in labels.items()}
        if qtype == QuestionType.NUMBER:
            for bound in ("min", "max"):
                if bound in raw:
                    if _number(raw[bound]) is None:
                        self.fail(f"{path}.{bound}: a number")
                    else:
                        question[bound] = raw[bound]
        if raw.get("placeholder"):
            question["placeholder"] = _text(raw["placeholder"], f"{path}.placeholder", self.problems, limit=200)
        question["weights"] = self.weights(question, raw.get("weights"), f"{path}.weights")
        if "show_if" in raw and raw["show_if"] is not None:
            cond = self.condition(raw["show_if"], f"{path}.show_if")
            if cond is not None:
                question["show_if"] = cond
        if raw.get("risk") is not None:
            question["risk"] = self.risk_hint(question, raw["risk"], f"{path}.risk")
        self.seen[qid] = question
        return question

    def options(self, raw: Any, path: str) -> list[dict[str, Any]]:
        if not isinstance(raw, list) or not raw:
            self.fail(f"{path}: a non-empty list of options")
            return []
        if len(raw) > MAX_OPTIONS:
            self.fail(f"{path}: at most {MAX_OPTIONS} options")
        options, values = [], set()
        for i, item in enumerate(raw):
            where = f"{path}[{i}]"
            if isinstance(item, str):
                item = {"value": item, "label": item}
            if not isinstance(item, Mapping):
                self.fail(f"{where}: an option is an object with value and label")
                continue
            for key in sorted(set(item) - {"value", "label", "reference", "exclusive"}):
                self.fail(f"{where}.{key}: unknown key")
            value = item.get("value")
            if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
                self.fail(f"{where}.value: required text")
                continue
            value = str(value).strip()
            if value in values:
                self.fail(f"{where}.value: '{value}' appears twice")
            values.add(value)
            option = {"value": value, "label": _text(item.get("label", value), f"{where}.label", self.problems)}
            if item.get("reference"):
                option["reference"] = _text(item["reference"], f"{where}.reference", self.problems, limit=200)
            if _as_bool(item.get("exclusive", False)):
                option["exclusive"] = True
            options.append(option)
        return options

    def weights(self, question: dict[str, Any], raw: Any, path: str) -> dict[str, float]:
        if raw is None or raw == {}:
            return {}
        if not isinstance(raw, Mapping):
            self.fail(f"{path}: an object of answer -> number")
            return {}
        qtype = question["type"]
        allowed: set[str]
        if qtype == QuestionType.YES_NO:
            allowed = {"yes", "no"}
        elif qtype in CHOICE_TYPES:
            allowed = {o["value"] for o in question.get("options", [])}
        elif qtype == QuestionType.SCALE:
            allowed = set(SCALE_POINTS)
        else:
            self.fail(f"{path}: only yes/no, choice and scale questions carry weights")
            return {}
        clean = {}
        for key, weight in raw.items():
            if qtype == QuestionType.YES_NO:
                flag = _as_bool(key)
                key = None if flag is None else ("yes" if flag else "no")
            key = None if key is None else str(key)
            if key not in allowed:
                self.fail(f"{path}: '{key}' is not an answer of this question")
                continue
            if _number(weight) is None:
                self.fail(f"{path}.{key}: a number")
                continue
            clean[key] = weight
        return clean

    def risk_hint(self, question: dict[str, Any], raw: Any, path: str) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            self.fail(f"{path}: an object with title, category and when")
            return {}
        hint = {
            "title": _text(raw.get("title"), f"{path}.title", self.problems, limit=200),
            "category": raw.get("category", RiskCategory.OTHER),
        }
        if hint["category"] not in RiskCategory.values:
            self.fail(f"{path}.category: one of {', '.join(RiskCategory.values)}")
        # The question itself is known by now, so `when` may name it. By default a yes/no question suggests
        # its risk when answered yes, any other question when answered at all.
        default = (
            {"question": question["id"], "equals": True}
            if question["type"] == QuestionType.YES_NO
            else {"question": question["id"], "answered": True}
        )
        self.seen[question["id"]] = question
        when = self.condition(raw.get("when", default), f"{path}.when")
        del self.seen[question["id"]]
        if when is not None:
            hint["when"] = when
        return hint

    # Sections and scoring ----------------------------------------------------------------------------

    def definition(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            raise DefinitionError(["the definition is an object with sections and scoring"])
        for key in sorted(set(raw) - {"sections", "scoring"}):
            self.fail(f"{key}: unknown key")
        sections_raw = raw.get("sections")
        if not isinstance(sections_raw, list) or not sections_raw:
            raise DefinitionError(["sections: a non-empty list"])
        if len(sections_raw) > MAX_SECTIONS:
            self.fail(f"sections: at most {MAX_SECTIONS}")
        sections, section_ids = [], set()
        for i, section_raw in enumerate(sections_raw):
            path = f"sections[{i}]"
            if not isinstance(section_raw, Mapping):
                self.fail(f"{path}: a section is an object")
                continue
            for key in sorted(set(section_raw) - {"id", "title", "description", "show_if", "questions"}):
                self.fail(f"{path}.{key}: unknown key")
            sid = section_raw.get("id")
            if not isinstance(sid, str) or not ID_PATTERN.match(sid) or sid in section_ids:
                self.fail(f"{path}.id: a unique id of lower-case letters, digits and underscores")
                continue
            section_ids.add(sid)
            section = {
                "id": sid,
                "title": _text(section_raw.get("title"), f"{path}.title", self.problems, limit=200),
                "description": _text(
                    section_raw.get("description"), f"{path}.description", self.problems, required=False, limit=4000
                ),
            }
            if section_raw.get("show_if") is not None:
                cond = self.condition(section_raw["show_if"], f"{path}.show_if")
                if cond is not None:
                    section["show_if"] = cond
            questions_raw = section_raw.get("questions")
            if not isinstance(questions_raw, list) or not questions_raw:
                self.fail(f"{path}.questions: a non-empty list")
                questions_raw = []
            section["questions"] = [
                question
                for j, raw_question in enumerate(questions_raw)
                if (question := self.question(raw_question, f"{path}.questions[{j}]")) is not None
            ]
            sections.append(section)
        if len(self.seen) > MAX_QUESTIONS:
            self.fail(f"at most {MAX_QUESTIONS} questions")
        scoring = self.scoring(raw.get("scoring") or {})
        if self.problems:
            raise DefinitionError(self.problems)
        return {"sections": sections, "scoring": scoring}

    def scoring(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            self.fail("scoring: an object")
            return {"classifies": False, "default_tier": None, "rules": []}
        for key in sorted(set(raw) - {"classifies", "default_tier", "rules"}):
            self.fail(f"scoring.{key}: unknown key")
        classifies = bool(_as_bool(raw.get("classifies", False)))
        default_tier = raw.get("default_tier")
        if classifies and default_tier not in TIERS:
            self.fail(f"scoring.default_tier: one of {', '.join(TIERS)} when the template classifies")
        if not classifies:
            default_tier = None
        rules, rule_ids = [], set()
        raw_rules = raw.get("rules") or []
        if not isinstance(raw_rules, list):
            self.fail("scoring.rules: a list")
            raw_rules = []
        for i, rule_raw in enumerate(raw_rules):
            path = f"scoring.rules[{i}]"
            if not isinstance(rule_raw, Mapping):
                self.fail(f"{path}: a rule is an object")
                continue
            for key in sorted(set(rule_raw) - {"id", "when", "tier", "mode", "reference", "explanation", "flag"}):
                self.fail(f"{path}.{key}: unknown key")
            rid = rule_raw.get("id")
            if not isinstance(rid, str) or not re.match(r"^[a-z][a-z0-9_-]{0,62}$", rid) or rid in rule_ids:
                self.fail(f"{path}.id: a unique id")
                continue
            rule_ids.add(rid)
            rule: dict[str, Any] = {
                "id": rid,
                "tier": rule_raw.get("tier"),
                "mode": rule_raw.get("mode", "at_least"),
                "reference": _text(rule_raw.get("reference"), f"{path}.reference", self.problems, required=False),
                "explanation": _text(rule_raw.get("explanation"), f"{path}.explanation", self.problems),
                "flag": _text(rule_raw.get("flag"), f"{path}.flag", self.problems, required=False, limit=64),
            }
            if rule["tier"] is not None and (rule["tier"] not in TIERS or not classifies):
                self.fail(f"{path}.tier: one of {', '.join(TIERS)}, in a template that classifies")
            if rule["mode"] not in RULE_MODES:
                self.fail(f"{path}.mode: one of {', '.join(RULE_MODES)}")
            if rule["tier"] is None and not rule["flag"]:
                self.fail(f"{path}: a rule sets a tier, raises a flag, or both")
            when = self.condition(rule_raw.get("when"), f"{path}.when")
            if when is not None:
                rule["when"] = when
            rules.append(rule)
        return {"classifies": classifies, "default_tier": default_tier, "rules": rules}


def validate_definition(raw: Any) -> dict[str, Any]:
    """Check a definition and return its normalised form, or raise DefinitionError listing every fault."""
    return _Validator().definition(raw)


# --- Conditions and visibility ------------------------------------------------------------------------


def _leaf_holds(cond: Mapping[str, Any], answers: Mapping[str, Any]) -> bool:
    qid = cond["question"]
    answer = answers.get(qid)
    present = answer not in (None, "", [])
    if "answered" in cond:
        return present == cond["answered"]
    if not present:
        return False
    if "equals" in cond:
        return answer == cond["equals"]
    if "not_equals" in cond:
        return answer != cond["not_equals"]
    if "in" in cond:
        return answer in cond["in"]
    if "includes" in cond:
        return isinstance(answer, list) and cond["includes"] in answer
    if "includes_any" in cond:
        return isinstance(answer, list) and any(v in answer for v in cond["includes_any"])
    if "gte" in cond:
        return isinstance(answer, int | float) and answer >= cond["gte"]
    if "lte" in cond:
        return isinstance(answer, int | float) and answer <= cond["lte"]
    raise ValueError(f"unknown condition {cond!r}")


def condition_holds(cond: Mapping[str, Any] | None, answers: Mapping[str, Any]) -> bool:
    if cond is None:
        return True
    if "all" in cond:
        return all(condition_holds(c, answers) for c in cond["all"])
    if "any" in cond:
        return any(condition_holds(c, answers) for c in cond["any"])
    if "not" in cond:
        return not condition_holds(cond["not"], answers)
    return _leaf_holds(cond, answers)


def supporting_leaves(cond: Mapping[str, Any], answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The comparisons that made a true condition true, to cite in an explanation."""
    if "all" in cond:
        return [leaf for c in cond["all"] for leaf in supporting_leaves(c, answers)]
    if "any" in cond:
        return [leaf for c in cond["any"] if condition_holds(c, answers) for leaf in supporting_leaves(c, answers)]
    if "not" in cond:
        return []
    return [dict(cond)] if _leaf_holds(cond, answers) else []


def visible_question_ids(definition: Mapping[str, Any], answers: Mapping[str, Any]) -> set[str]:
    """Which questions are shown for these answers. Answers to hidden questions count as unanswered."""
    effective: dict[str, Any] = {}
    visible: set[str] = set()
    for section in definition.get("sections", []):
        section_shown = condition_holds(section.get("show_if"), effective)
        for question in section.get("questions", []):
            if section_shown and condition_holds(question.get("show_if"), effective):
                visible.add(question["id"])
                if question["id"] in answers:
                    effective[question["id"]] = answers[question["id"]]
    return visible


def visible_answers(definition: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, Any]:
    shown = visible_question_ids(definition, answers)
    return {qid: value for qid, value in answers.items() if qid in shown}


# --- Answers ------------------------------------------------------------------------------------------


def clean_answer(question: Mapping[str, Any], value: Any) -> Any:
    """Coerce one raw answer (from a form or JSON) to its stored form, or raise AnswerError. None clears."""
    if value is None or value == "" or value == []:
        return None
    qtype = question["type"]
    if qtype == QuestionType.YES_NO:
        flag = _as_bool(value)
        if flag is None:
            raise AnswerError("Answer yes or no.")
        return flag
    if qtype == QuestionType.SINGLE_CHOICE:
        values = [o["value"] for o in question["options"]]
        if str(value) not in values:
            raise AnswerError("Choose one of the listed options.")
        return str(value)
    if qtype == QuestionType.MULTIPLE_CHOICE:
        items = value if isinstance(value, list | tuple) else [value]
        options = {o["value"]: o for o in question["options"]}
        chosen = []
        for item in items:
            if str(item) not in options:
                raise AnswerError(f"'{item}' is not one of the listed options.")
            if str(item) not in chosen:
                chosen.append(str(item))
        exclusive = [v for v in chosen if options[v].get("exclusive")]
        if exclusive and len(chosen) > 1:
            raise AnswerError(f"'{options[exclusive[0]]['label']}' cannot be combined with other options.")
        order = list(options)
        return sorted(chosen, key=order.index)
    if qtype in (QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT):
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise AnswerError("Answer with text.")
        text = str(value).strip()
        limit = SHORT_TEXT_MAX if qtype == QuestionType.SHORT_TEXT else LONG_TEXT_MAX
        if len(text) > limit:
            raise AnswerError(f"At most {limit:,} characters.")
        return text or None
    if qtype == QuestionType.NUMBER:
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            raise AnswerError("Enter a number.") from None
        if not math.isfinite(number):
            raise AnswerError("Enter a number.")
        if "min" in question and number < question["min"]:
            raise AnswerError(f"At least {question['min']:g}.")
        if "max" in question and number > question["max"]:
            raise AnswerError(f"At most {question['max']:g}.")
        return int(number) if number.is_integer() else number
    if qtype == QuestionType.SCALE:
        if str(value) not in SCALE_POINTS:
            raise AnswerError("Choose a point from 1 to 5.")
        return int(value)
    if qtype == QuestionType.DATE:
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise AnswerError("Enter a date as YYYY-MM-DD.") from None
    if qtype == QuestionType.EVIDENCE:
        raise AnswerError("Attach a file or a link as evidence instead.")
    raise AnswerError("Unknown question type.")


def clean_answers(definition: Mapping[str, Any], raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Coerce a batch of raw answers. Returns (clean answers, {question id: error}); None values clear."""
    questions = questions_by_id(definition)
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for qid, value in raw.items():
        question = questions.get(qid)
        if question is None:
            errors[qid] = "No such question in this template."
            continue
        try:
            clean[qid] = clean_answer(question.data, value)
        except AnswerError as exc:
            errors[qid] = str(exc)
    return clean, errors


def is_answered(question: Mapping[str, Any], answers: Mapping[str, Any], evidence_questions: set[str]) -> bool:
    if question["type"] == QuestionType.EVIDENCE:
        return question["id"] in evidence_questions
    return answers.get(question["id"]) not in (None, "", [])


def missing_answers(
    definition: Mapping[str, Any], answers: Mapping[str, Any], evidence_questions: set[str] = frozenset()
) -> dict[str, str]:
    """Required questions that are shown and not answered: {question id: message}."""
    shown = visible_question_ids(definition, answers)
    missing = {}
    for question in iter_questions(definition):
        if (
            question.id in shown
            and question["required"]
            and not is_answered(question.data, answers, evidence_questions)
        ):
            missing[question.id] = (
                "Attach evidence (a file or a link)."
                if question.type == QuestionType.EVIDENCE
                else "This question needs an answer."
            )
    return missing


def section_progress(
    definition: Mapping[str, Any], answers: Mapping[str, Any], evidence_questions: set[str] = frozenset()
) -> list[dict[str, Any]]:
    """Per section: shown questions, how many are answered, and whether every required one is."""
    shown = visible_question_ids(definition, answers)
    progress = []
    for section in definition["sections"]:
        questions = [q for q in section["questions"] if q["id"] in shown]
        answered = [q for q in questions if is_answered(q, answers, evidence_questions)]
        required = [q for q in questions if q["required"]]
        progress.append(
            {
                "id": section["id"],
                "title": section["title"],
                "shown": len(questions),
                "answered": len(answered),
                "required": len(required),
                "complete": all(is_answered(q, answers, evidence_questions) for q in required),
            }
        )
    return progress


def answer_label(question: Mapping[str, Any], answer: Any) -> str:
    """How an answer reads to a person: option labels, Yes/No, the text itself."""
    if answer in (None, "", []):
        return ""
    qtype = question["type"]
    if qtype == QuestionType.YES_NO:
        return "Yes" if answer else "No"
    if qtype in CHOICE_TYPES:
        labels = {o["value"]: o["label"] for o in question["options"]}
        items = answer if isinstance(answer, list) else [answer]
        return "; ".join(labels.get(v, str(v)) for v in items)
    if qtype == QuestionType.SCALE:
        label = question.get("scale_labels", {}).get(str(answer))
        return f"{answer} ({label})" if label else str(answer)
    return str(answer)


def answer_references(question: Mapping[str, Any], answer: Any) -> list[str]:
    """The question's reference plus the references of the chosen options (e.g. `Annex III 5(b)`)."""
    refs = [question["reference"]] if question.get("reference") else []
    if question["type"] in CHOICE_TYPES and answer not in (None, "", []):
        by_value = {o["value"]: o for o in question["options"]}
        for value in answer if isinstance(answer, list) else [answer]:
            ref = by_value.get(value, {}).get("reference")
            if ref and ref not in refs:
                refs.append(ref)
    return refs
