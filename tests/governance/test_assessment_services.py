"""Risk assessments through the services every entry point calls: lifecycle, separation of duties, the
model's tier, template versions, evidence, expiry and the approval gate's read."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone

from governance import selectors, services, tasks
from governance.choices import AssessmentStatus
from governance.models import Assessment, AssessmentTemplate
from registry.choices import RiskTier, Visibility
from registry.exceptions import Conflict, InvalidInput
from registry.permissions import Role
from tests.factories import make_model, make_user, make_version
from tests.governance.conftest import CREDIT_SCORING, EU_BASELINE


@pytest.fixture
def credit(owner, team_alpha):
    return make_model(owner, name="credit-scoring", team=team_alpha)


@pytest.fixture
def second_officer(db):
    return make_user("risk2", roles=[Role.RISK_OFFICER])


def submitted(owner, model, template, answers=CREDIT_SCORING) -> Assessment:
    assessment = services.assessment_create(actor=owner, model=model, template=template)
    services.assessment_answer(actor=owner, assessment=assessment, answers=answers)
    return services.assessment_submit(actor=owner, assessment=assessment)


def approved(owner, officer, model, template, answers=CREDIT_SCORING) -> Assessment:
    return services.assessment_approve(
        actor=officer, assessment=submitted(owner, model, template, answers), comment="Agreed."
    )


# --- Starting and answering ----------------------------------------------------------------------------------


def test_owner_starts_answers_and_submits(owner, credit, eu_template, audit_events):
    with audit_events() as events:
        assessment = services.assessment_create(actor=owner, model=credit, template=eu_template)
    assert events.actions == ["assessment.created"]
    assert assessment.status == AssessmentStatus.DRAFT and assessment.assessor == owner

    with audit_events() as events:
        services.assessment_answer(actor=owner, assessment=assessment, answers=CREDIT_SCORING)
    assert events.actions == ["assessment.answered"]
    assessment.refresh_from_db()
    assert assessment.tier == RiskTier.HIGH and assessment.score == 40
    assert "Annex III 5(b)" in assessment.explanation["references"]
    assert assessment.contributors == [owner.pk]

    with audit_events() as events:
        services.assessment_submit(actor=owner, assessment=assessment)
    assert events.actions == ["assessment.submitted"]
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.SUBMITTED and assessment.submitted_by == owner


def test_risk_officer_may_start_an_assessment_of_any_model_they_see(owner, risk_officer, credit, eu_template):
    assessment = services.assessment_create(actor=risk_officer, model=credit, template=eu_template)
    assert assessment.assessor == risk_officer


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "outsider", "auditor"])
def test_others_may_not_start_one(request, persona, credit, eu_template):
    with pytest.raises(PermissionDenied):
        services.assessment_create(actor=request.getfixturevalue(persona), model=credit, template=eu_template)


def test_a_restricted_model_stays_invisible(owner, outsider, eu_template):
    hidden = make_model(owner, visibility=Visibility.RESTRICTED)
    with pytest.raises(Http404):
        services.assessment_create(actor=outsider, model=hidden, template=eu_template)


def test_one_open_assessment_per_template(owner, credit, eu_template):
    services.assessment_create(actor=owner, model=credit, template=eu_template)
    with pytest.raises(Conflict) as exc:
        services.assessment_create(actor=owner, model=credit, template=eu_template)
    assert exc.value.code == "assessment_open"


def test_version_must_belong_to_the_model(owner, credit, eu_template):
    other = make_version(owner, make_model(owner))
    with pytest.raises(InvalidInput):
        services.assessment_create(actor=owner, model=credit, template=eu_template, model_version=other)
    own = make_version(owner, credit)
    assessment = services.assessment_create(actor=owner, model=credit, template=eu_template, model_version=own)
    assert assessment.model_version == own


def test_invalid_answers_are_refused_per_question(owner, credit, eu_template):
    assessment = services.assessment_create(actor=owner, model=credit, template=eu_template)
    with pytest.raises(InvalidInput) as exc:
        services.assessment_answer(
            actor=owner, assessment=assessment, answers={"eu_nexus": "maybe", "annex3_points": ["9z"], "nope": 1}
        )
    assert set(exc.value.fields) == {"eu_nexus", "annex3_points", "nope"}
    assessment.refresh_from_db()
    assert assessment.answers == {}


def test_answers_merge_clear_and_drop_hidden_follow_ups(owner, credit, eu_template, audit_events):
    assessment = services.assessment_create(actor=owner, model=credit, template=eu_template)
    services.assessment_answer(actor=owner, assessment=assessment, answers=CREDIT_SCORING)
    services.assessment_answer(actor=owner, assessment=assessment, answers={"annex3_applies": False})
    assessment.refresh_from_db()
    assert "annex3_points" not in assessment.answers and "art6_3_profiling" not in assessment.answers
    assert assessment.tier == RiskTier.MINIMAL
    services.assessment_answer(actor=owner, assessment=assessment, answers={"intended_purpose": None})
    assessment.refresh_from_db()
    assert "intended_purpose" not in assessment.answers
    with audit_events() as events:
        services.assessment_answer(actor=owner, assessment=assessment, answers={"annex3_applies": False})
    assert events.actions == [], "saving the same answers records nothing"


def test_submit_names_every_missing_answer(owner, credit, eu_template):
    assessment = services.assessment_create(actor=owner, model=credit, template=eu_template)
    services.assessment_answer(actor=owner, assessment=assessment, answers={**EU_BASELINE, "annex3_applies": True})
    with pytest.raises(InvalidInput) as exc:
        services.assessment_submit(actor=owner, assessment=assessment)
    assert exc.value.code == "assessment_incomplete"
    assert set(exc.value.fields) == {"annex3_points", "art6_3_profiling"}


def test_only_the_assessor_and_model_owners_answer(owner, teammate, risk_officer, outsider, credit, eu_template):
    assessment = services.assessment_create(actor=owner, model=credit, template=eu_template)
    services.assessment_answer(actor=teammate, assessment=assessment, answers={"eu_nexus": True})
    for stranger in (risk_officer, outsider):
        with pytest.raises(PermissionDenied):
            services.assessment_answer(actor=stranger, assessment=assessment, answers={"eu_nexus": False})


def test_submitted_assessment_is_frozen(owner, credit, eu_template):
    assessment = submitted(owner, credit, eu_template)
    with pytest.raises(Conflict):
        services.assessment_answer(actor=owner, assessment=assessment, answers={"eu_nexus": False})


# --- Review and separation of duties -----------------------------------------------------------------------------


def test_risk_officer_approves_and_the_model_becomes_high_risk(owner, risk_officer, credit, eu_template, audit_events):
    assessment = submitted(owner, credit, eu_template)
    with audit_events() as events:
        services.assessment_approve(actor=risk_officer, assessment=assessment, comment="Annex III 5(b) confirmed.")
    assert events.actions == ["assessment.approved", "model.risk_tier_changed"]
    assessment.refresh_from_db()
    credit.refresh_from_db()
    assert assessment.status == AssessmentStatus.APPROVED and assessment.reviewer == risk_officer
    assert assessment.valid_until == services.add_months(timezone.localdate(), 12)
    assert credit.risk_tier == RiskTier.HIGH


def test_assessor_cannot_approve_their_own(risk_officer, owner, credit, eu_template, team_alpha):
    # A risk officer who is also on the owning team assesses the model; they cannot sign it off.
    team_alpha.group.user_set.add(risk_officer)
    assessment = services.assessment_create(actor=risk_officer, model=credit, template=eu_template)
    services.assessment_answer(actor=risk_officer, assessment=assessment, answers=CREDIT_SCORING)
    services.assessment_submit(actor=risk_officer, assessment=assessment)
    with pytest.raises(PermissionDenied, match="separation of duties"):
        services.assessment_approve(actor=risk_officer, assessment=assessment)
    with pytest.raises(PermissionDenied, match="separation of duties"):
        services.assessment_return(actor=risk_officer, assessment=assessment, comment="x")


def test_a_risk_officer_who_answered_cannot_approve(owner, second_officer, risk_officer, credit, eu_template):
    assessment = services.assessment_create(actor=owner, model=credit, template=eu_template)
    credit_grant = [RiskTier]  # noqa: F841 - readability: the second officer is given change rights below
    from registry import services as registry_services
    from registry.permissions import Action

    registry_services.access_grant(actor=owner, model=credit, grantee=second_officer, actions=[Action.CHANGE])
    services.assessment_answer(actor=second_officer, assessment=assessment, answers=CREDIT_SCORING)
    services.assessment_submit(actor=owner, assessment=assessment)
    with pytest.raises(PermissionDenied, match="answered part"):
        services.assessment_approve(actor=second_officer, assessment=assessment)
    services.assessment_approve(actor=risk_officer, assessment=assessment)


@pytest.mark.parametrize("persona", ["owner", "teammate", "administrator", "reviewer", "auditor"])
def test_only_risk_officers_sign_off(request, persona, owner, credit, eu_template):
    assessment = submitted(owner, credit, eu_template)
    with pytest.raises(PermissionDenied):
        services.assessment_approve(actor=request.getfixturevalue(persona), assessment=assessment)


def test_the_database_refuses_an_assessor_as_reviewer(owner, credit, eu_template):
    from django.db import IntegrityError, transaction

    assessment = submitted(owner, credit, eu_template)
    with pytest.raises(IntegrityError), transaction.atomic():
        Assessment.objects.filter(pk=assessment.pk).update(reviewer=owner)


def test_return_needs_a_comment_and_reopens_the_assessment(owner, risk_officer, credit, eu_template):
    assessment = submitted(owner, credit, eu_template)
    with pytest.raises(InvalidInput):
        services.assessment_return(actor=risk_officer, assessment=assessment, comment="  ")
    services.assessment_return(actor=risk_officer, assessment=assessment, comment="Attach the DPIA.")
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.RETURNED and assessment.review_comment == "Attach the DPIA."
    services.assessment_answer(actor=owner, assessment=assessment, answers={"human_oversight": "Analysts review."})
    services.assessment_submit(actor=owner, assessment=assessment)
    services.assessment_approve(actor=risk_officer, assessment=assessment)


def test_only_submitted_assessments_are_decided(owner, risk_officer, credit, eu_template):
    assessment = services.assessment_create(actor=owner, model=credit, template=eu_template)
    with pytest.raises(Conflict):
        services.assessment_approve(actor=risk_officer, assessment=assessment)


# --- The model's tier ---------------------------------------------------------------------------------------


def test_tier_follows_the_latest_approved_unexpired_assessment(owner, risk_officer, credit, eu_template):
    first = approved(owner, risk_officer, credit, eu_template)
    credit.refresh_from_db()
    assert credit.risk_tier == RiskTier.HIGH

    chatbot = {**EU_BASELINE, "art50_1_interaction": True, "art50_disclosure": "Banner."}
    second = approved(owner, risk_officer, credit, eu_template, chatbot)
    credit.refresh_from_db()
    first.refresh_from_db()
    assert credit.risk_tier == RiskTier.LIMITED
    assert first.status == AssessmentStatus.SUPERSEDED
    assert second.valid_until == services.add_months(timezone.localdate(), 24)

    # A draft or a submitted assessment changes nothing until it is approved.
    submitted(owner, credit, eu_template, CREDIT_SCORING)
    credit.refresh_from_db()
    assert credit.risk_tier == RiskTier.LIMITED


def test_a_checklist_does_not_set_the_tier(owner, risk_officer, credit, frameworks):
    nist = frameworks["nist-ai-rmf"]
    assessment = services.assessment_create(actor=owner, model=credit, template=nist)
    assert assessment.tier == ""
    services.assessment_answer(actor=owner, assessment=assessment, answers={"gv_1": 3})
    assessment.refresh_from_db()
    assert assessment.score == 2 and assessment.tier == ""


def test_validity_is_configurable(owner, risk_officer, credit, eu_template, settings):
    settings.ASSESSMENT_VALID_MONTHS = {**settings.ASSESSMENT_VALID_MONTHS, "high": 6}
    assessment = approved(owner, risk_officer, credit, eu_template)
    assert assessment.valid_until == services.add_months(timezone.localdate(), 6)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),
        (dt.date(2026, 11, 24), 12, dt.date(2027, 11, 24)),
        (dt.date(2026, 12, 15), 36, dt.date(2029, 12, 15)),
    ],
)
def test_add_months(day, months, expected):
    assert services.add_months(day, months) == expected


# --- Expiry and reminders -------------------------------------------------------------------------------------------


def test_expiry_task_expires_resets_tier_and_notifies(
    owner, risk_officer, credit, eu_template, audit_events, django_capture_on_commit_callbacks
):
    assessment = approved(owner, risk_officer, credit, eu_template)
    Assessment.objects.filter(pk=assessment.pk).update(valid_until=timezone.localdate() - dt.timedelta(days=1))
    mail.outbox.clear()
    with audit_events() as events, django_capture_on_commit_callbacks(execute=True):
        outcome = tasks.assessments_review()
    assert outcome == {"expired": 1, "reminded": 0}
    assert events.actions == ["assessment.expired", "model.risk_tier_changed"]
    assessment.refresh_from_db()
    credit.refresh_from_db()
    assert assessment.status == AssessmentStatus.EXPIRED and assessment.expired_at is not None
    assert credit.risk_tier == RiskTier.UNASSESSED
    assert len(mail.outbox) == 1
    assert set(mail.outbox[0].to) == {owner.email, risk_officer.email}
    assert "expired" in mail.outbox[0].subject

    with audit_events() as events:
        assert tasks.assessments_review() == {"expired": 0, "reminded": 0}
    assert events.actions == [], "running again changes nothing"


def test_due_soon_reminder_is_sent_once(owner, risk_officer, credit, eu_template, django_capture_on_commit_callbacks):
    assessment = approved(owner, risk_officer, credit, eu_template)
    Assessment.objects.filter(pk=assessment.pk).update(valid_until=timezone.localdate() + dt.timedelta(days=20))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.assessments_review() == {"expired": 0, "reminded": 1}
        assert tasks.assessments_review() == {"expired": 0, "reminded": 0}
    assert len(mail.outbox) == 1 and "due by" in mail.outbox[0].subject
    credit.refresh_from_db()
    assert credit.risk_tier == RiskTier.HIGH, "due soon is a warning; the tier holds until valid_until"
    assert selectors.review_flags([credit.pk]) == {
        credit.pk: {
            "state": "due_soon",
            "valid_until": assessment.valid_until + dt.timedelta(days=0)
            if False
            else timezone.localdate() + dt.timedelta(days=20),
        }
    }


def test_overdue_flag_until_a_new_assessment_is_approved(owner, risk_officer, credit, eu_template):
    assessment = approved(owner, risk_officer, credit, eu_template)
    Assessment.objects.filter(pk=assessment.pk).update(valid_until=timezone.localdate() - dt.timedelta(days=1))
    tasks.assessments_review()
    assert selectors.review_flags([credit.pk])[credit.pk]["state"] == "overdue"
    approved(owner, risk_officer, credit, eu_template)
    assert selectors.review_flags([credit.pk]) == {}


# --- The approval gate's read ----------------------------------------------------------------------------------------


def test_gate_check_explains_what_is_missing(owner, risk_officer, credit, eu_template):
    ok, problems = selectors.assessment_gate_check(credit)
    assert not ok and "has no approved risk assessment" in problems[0]
    assert "/models/credit-scoring/assessments/" in problems[0]

    assessment = submitted(owner, credit, eu_template)
    ok, problems = selectors.assessment_gate_check(credit)
    assert not ok and "waiting for a risk officer" in problems[0] and f"/assessments/{assessment.pk}/" in problems[0]

    services.assessment_approve(actor=risk_officer, assessment=assessment)
    assert selectors.assessment_gate_check(credit) == (True, [])

    later = timezone.localdate() + dt.timedelta(days=400)
    ok, problems = selectors.assessment_gate_check(credit, today=later)
    assert not ok and "expired" in problems[0], "an approval past valid_until fails even before the task runs"


# --- Template versions --------------------------------------------------------------------------------------------


def _edited(template: AssessmentTemplate, text: str) -> dict:
    definition = {
        "sections": [dict(s) for s in template.definition["sections"]],
        "scoring": template.definition["scoring"],
    }
    first = dict(definition["sections"][0])
    first["questions"] = [dict(first["questions"][0], text=text), *first["questions"][1:]]
    definition["sections"][0] = first
    return definition


def test_editing_a_used_template_creates_a_version_and_old_assessments_keep_theirs(
    owner, risk_officer, credit, eu_template, audit_events
):
    old = approved(owner, risk_officer, credit, eu_template)
    old_answers, old_tier = dict(old.answers), old.tier
    with audit_events() as events:
        successor = services.template_update(
            actor=risk_officer,
            template=eu_template,
            title=eu_template.title,
            description=eu_template.description,
            definition=_edited(eu_template, "What is the system for?"),
        )
    assert events.actions == ["assessment_template.versioned"]
    assert successor.pk != eu_template.pk and successor.version == eu_template.version + 1
    eu_template.refresh_from_db()
    assert eu_template.definition["sections"][0]["questions"][0]["text"] != "What is the system for?"
    old.refresh_from_db()
    assert old.template_id == eu_template.pk and old.answers == old_answers and old.tier == old_tier

    with pytest.raises(Conflict) as exc:
        services.assessment_create(actor=owner, model=make_model(owner), template=eu_template)
    assert exc.value.code == "template_outdated"


def test_editing_an_unused_template_changes_it_in_place(risk_officer, eu_template):
    same = services.template_update(
        actor=risk_officer,
        template=eu_template,
        title="EU AI Act (edited)",
        description="",
        definition=_edited(eu_template, "Purpose?"),
    )
    assert same.pk == eu_template.pk and same.source == "" and same.title == "EU AI Act (edited)"
    # Loading the unchanged seed file keeps the edit.
    assert {k: o for k, o, _ in services.frameworks_load()}["eu-ai-act"] == "unchanged"


def test_only_risk_officers_and_administrators_edit_templates(owner, eu_template):
    with pytest.raises(PermissionDenied):
        services.template_update(actor=owner, template=eu_template, title="x", definition=eu_template.definition)


def test_invalid_definition_is_refused_with_its_problems(risk_officer):
    with pytest.raises(InvalidInput) as exc:
        services.template_create(
            actor=risk_officer, key="broken", title="Broken", framework="internal", definition={"sections": []}
        )
    assert exc.value.fields == {"definition": ["sections: a non-empty list"]}


def test_frameworks_load_is_idempotent_and_versions_a_used_template(owner, credit, frameworks, tmp_path, audit_events):
    with audit_events() as events:
        assert {o for _, o, _ in services.frameworks_load()} == {"unchanged"}
    assert events.actions == []

    services.assessment_create(actor=owner, model=credit, template=frameworks["eu-ai-act"])
    from governance.frameworks import FRAMEWORKS_DIR

    source = (FRAMEWORKS_DIR / "eu-ai-act.yaml").read_text()
    (tmp_path / "eu-ai-act.yaml").write_text(source.replace("title: EU AI Act risk classification", "title: EU AI Act"))
    with audit_events() as events:
        results = {k: (o, t) for k, o, t in services.frameworks_load(directory=tmp_path)}
    outcome, template = results["eu-ai-act"]
    assert outcome == "versioned" and template.version == 2 and template.title == "EU AI Act"
    assert events.actions == ["assessment_template.versioned"]
    assert services.frameworks_load(directory=tmp_path)[0][1] == "unchanged"


# --- Evidence ---------------------------------------------------------------------------------------------------------


def test_evidence_file_is_stored_by_digest_not_by_client_name(owner, credit, eu_template, artifact_storage):
    assessment = services.assessment_create(actor=owner, model=credit, template=eu_template)
    content = b"%PDF-1.7 legal opinion on Annex III 5(b)"
    upload = SimpleUploadedFile("../../etc/passwd opinion.pdf", content, content_type="application/pdf")
    evidence = services.assessment_evidence_add(
        actor=owner, assessment=assessment, file=upload, question_id="supporting_evidence"
    )
    digest = hashlib.sha256(content).hexdigest()
    assert evidence.sha256 == digest and evidence.size == len(content)
    assert evidence.storage_name == f"assessment-evidence/{digest[:2]}/{digest}"
    assert (artifact_storage / evidence.storage_name).read_bytes() == content
    assert evidence.filename == "passwd_opinion.pdf" and "/" not in evidence.filename
    assert not list(artifact_storage.rglob("*passwd*"))

    again = services.assessment_evidence_add(
        actor=owner, assessment=assessment, file=SimpleUploadedFile("copy.pdf", content)
    )
    assert again.storage_name == evidence.storage_name, "the same bytes share one blob"


def test_evidence_satisfies_a_required_evidence_question(owner, risk_officer, credit, artifact_storage):
    template = services.template_create(
        actor=risk_officer,
        key="dpia",
        title="DPIA",
        framework="internal",
        definition={
            "sections": [
                {
                    "id": "s",
                    "title": "S",
                    "questions": [{"id": "dpia", "text": "Attach", "type": "evidence", "required": True}],
                }
            ]
        },
    )
    assessment = services.assessment_create(actor=owner, model=credit, template=template)
    with pytest.raises(InvalidInput) as exc:
        services.assessment_submit(actor=owner, assessment=assessment)
    assert exc.value.fields == {"dpia": ["Attach evidence (a file or a link)."]}
    services.assessment_evidence_add(
        actor=owner, assessment=assessment, url="https://dms.example.org/dpia/42", question_id="dpia"
    )
    services.assessment_submit(actor=owner, assessment=assessment)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd", "not a url"])
def test_evidence_links_must_be_http(owner, credit, eu_template, url):
    assessment = services.assessment_create(actor=owner, model=credit, template=eu_template)
    with pytest.raises(InvalidInput):
        services.assessment_evidence_add(actor=owner, assessment=assessment, url=url)


def test_evidence_only_for_questions_that_take_it(owner, credit, eu_template):
    assessment = services.assessment_create(actor=owner, model=credit, template=eu_template)
    with pytest.raises(InvalidInput):
        services.assessment_evidence_add(
            actor=owner, assessment=assessment, url="https://x.example.org", question_id="eu_nexus"
        )


def test_evidence_size_is_limited(owner, credit, eu_template, settings, artifact_storage):
    from registry.exceptions import PayloadTooLarge

    settings.ASSESSMENT_EVIDENCE_MAX_BYTES = 10
    assessment = services.assessment_create(actor=owner, model=credit, template=eu_template)
    with pytest.raises(PayloadTooLarge):
        services.assessment_evidence_add(actor=owner, assessment=assessment, file=SimpleUploadedFile("a", b"x" * 11))


# --- Risk register ----------------------------------------------------------------------------------------------------


def test_risk_register_entry_with_ratings_and_linked_questions(owner, risk_officer, credit, eu_template, audit_events):
    assessment = approved(owner, risk_officer, credit, eu_template)
    with audit_events() as events:
        risk = services.risk_create(
            actor=risk_officer,
            model=credit,
            title="Disparate impact on thin-file applicants",
            category="fairness",
            likelihood=4,
            impact=4,
            residual_likelihood=2,
            residual_impact=4,
            owner=owner,
            due_date=timezone.localdate() + dt.timedelta(days=60),
            assessment=assessment,
            question_ids=["annex3_points"],
            mitigation="Reject inference for thin files; monthly fairness report.",
        )
    assert events.actions == ["risk.created"]
    assert (risk.inherent_rating, risk.residual_rating) == (16, 8)
    assert (risk.inherent_band, risk.residual_band) == ("high", "medium")

    with audit_events() as events:
        services.risk_update(actor=owner, risk=risk, data={"status": "mitigating", "residual_likelihood": 1})
    assert events.actions == ["risk.updated"]
    risk.refresh_from_db()
    assert risk.residual_rating == 4


def test_risk_checks(owner, outsider, credit, eu_template):
    hidden = make_model(owner, name="hidden", visibility=Visibility.RESTRICTED)
    base = {"title": "t", "likelihood": 3, "impact": 3, "owner": owner}
    with pytest.raises(InvalidInput) as exc:
        services.risk_create(actor=owner, model=credit, **{**base, "likelihood": 6, "residual_likelihood": 2})
    assert set(exc.value.fields) == {"likelihood", "residual_impact"}
    with pytest.raises(InvalidInput) as exc:
        services.risk_create(actor=owner, model=hidden, **{**base, "owner": outsider})
    assert "cannot see this model" in exc.value.fields["owner"][0]
    with pytest.raises(InvalidInput):
        services.risk_create(actor=owner, model=credit, **base, question_ids=["annex3_points"])
    with pytest.raises(PermissionDenied):
        services.risk_create(actor=outsider, model=credit, **base)


# --- One audit event per change, and the schedule ------------------------------------------------------------------


def test_every_service_records_exactly_one_event(
    owner, risk_officer, credit, eu_template, audit_events, artifact_storage
):
    def one(action, call):
        with audit_events() as events:
            result = call()
        assert events.actions == [action], f"{action}: {events.actions}"
        return result

    template = one(
        "assessment_template.created",
        lambda: services.template_create(
            actor=risk_officer,
            key="policy",
            title="Policy",
            framework="internal",
            definition={
                "sections": [{"id": "s", "title": "S", "questions": [{"id": "q", "text": "Q", "type": "yes_no"}]}]
            },
        ),
    )
    one(
        "assessment_template.updated",
        lambda: services.template_update(
            actor=risk_officer, template=template, title="Policy 2", definition=template.definition
        ),
    )
    assessment = one(
        "assessment.created", lambda: services.assessment_create(actor=owner, model=credit, template=eu_template)
    )
    one(
        "assessment.answered",
        lambda: services.assessment_answer(actor=owner, assessment=assessment, answers=CREDIT_SCORING),
    )
    evidence = one(
        "assessment.evidence_added",
        lambda: services.assessment_evidence_add(
            actor=owner, assessment=assessment, file=SimpleUploadedFile("a.txt", b"a")
        ),
    )
    one("assessment.evidence_removed", lambda: services.assessment_evidence_remove(actor=owner, evidence=evidence))
    one("assessment.submitted", lambda: services.assessment_submit(actor=owner, assessment=assessment))
    one(
        "assessment.returned",
        lambda: services.assessment_return(actor=risk_officer, assessment=assessment, comment="x"),
    )
    one("assessment.submitted", lambda: services.assessment_submit(actor=owner, assessment=assessment))
    risk = one(
        "risk.created",
        lambda: services.risk_create(actor=owner, model=credit, title="t", likelihood=2, impact=2, owner=owner),
    )
    one("risk.updated", lambda: services.risk_update(actor=risk_officer, risk=risk, data={"status": "closed"}))


def test_the_review_task_is_on_the_beat_schedule(settings):
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["assessments-review"]
    assert entry["task"] == "governance.tasks.assessments_review"
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
