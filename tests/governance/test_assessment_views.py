"""The questionnaire pages: steps, validation messages per question, live visibility, evidence, sign-off,
the printable view, the template editor and the catalog's re-review flag."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from governance import services, tasks
from governance.models import Assessment, AssessmentTemplate
from tests.factories import make_model
from tests.governance.conftest import CREDIT_SCORING, EU_BASELINE


@pytest.fixture
def credit(owner, team_alpha):
    return make_model(owner, name="credit-scoring", title="Retail credit scoring", team=team_alpha)


@pytest.fixture
def draft(owner, credit, eu_template):
    return services.assessment_create(actor=owner, model=credit, template=eu_template)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def step_url(assessment, step: int) -> str:
    return f"/governance/assessments/{assessment.pk}/step/{step}/"


def test_a_step_renders_its_questions_with_references(owner, draft):
    response = browser(owner).get(step_url(draft, 2))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Prohibited practices" in page and "Art. 5(1)(c)" in page
    assert 'data-progress="' in page and "Step 2 of 7" in page
    assert "<script>" not in page and " style=" not in page, "the CSP forbids inline script and style"


def test_save_draft_keeps_answers_and_stays(owner, draft):
    response = browser(owner).post(step_url(draft, 1), {"eu_nexus": "yes", "_action": "save"})
    assert response.status_code == 302 and response.url == step_url(draft, 1)
    draft.refresh_from_db()
    assert draft.answers == {"eu_nexus": True}


def test_continue_names_each_missing_required_question(owner, draft):
    response = browser(owner).post(step_url(draft, 1), {"eu_nexus": "yes", "_action": "next"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["intended_purpose"] == ["This question needs an answer."]
    assert form.errors["operator_role"] == ["This question needs an answer."]
    page = response.content.decode()
    assert 'id="id_intended_purpose_error"' in page and 'aria-invalid="true"' in page
    draft.refresh_from_db()
    assert draft.answers == {"eu_nexus": True}, "what was answered is saved anyway"


def test_continue_moves_on_when_the_section_is_complete(owner, draft):
    data = {"intended_purpose": "Scores loans.", "operator_role": "provider", "eu_nexus": "yes"}
    response = browser(owner).post(step_url(draft, 1), {**data, "excluded_purpose": "no", "_action": "next"})
    assert response.status_code == 302 and response.url == step_url(draft, 2)


def test_invalid_choice_gets_a_message_next_to_the_question(owner, draft):
    response = browser(owner).post(step_url(draft, 1), {"operator_role": "regulator", "_action": "save"})
    assert response.status_code == 200
    assert "operator_role" in response.context["form"].errors


def test_visibility_endpoint_reports_what_to_show_and_the_tier(owner, draft):
    client = browser(owner)
    response = client.post(
        f"/governance/assessments/{draft.pk}/visibility/",
        {"_step": "4", "annex3_applies": "yes", "annex3_points": ["5b"], "art6_3_profiling": "yes"},
        HTTP_HX_REQUEST="true",
    )
    event = json.loads(response["HX-Trigger"])["assessment:visibility"]
    assert "annex3_points" in event["shown"] and "art6_3_conditions" in event["hidden"]
    assert 'hx-swap-oob="true"' in response.content.decode() and "High risk" in response.content.decode()
    draft.refresh_from_db()
    assert draft.answers == {}, "previewing saves nothing"


def test_hidden_follow_up_answers_are_dropped_on_save(owner, draft):
    client = browser(owner)
    client.post(step_url(draft, 4), {"annex3_applies": "yes", "annex3_points": ["5b"], "_action": "save"})
    client.post(step_url(draft, 4), {"annex3_applies": "no", "annex3_points": ["5b"], "_action": "save"})
    draft.refresh_from_db()
    assert draft.answers == {"annex3_applies": False}


def test_evidence_uploaded_on_a_step_is_stored_by_digest(owner, draft, artifact_storage):
    content = b"opinion"
    response = browser(owner).post(
        step_url(draft, 7),
        {"_action": "save", "evidence-supporting_evidence-file": SimpleUploadedFile("../x.pdf", content)},
    )
    assert response.status_code == 302
    evidence = draft.evidence.get()
    assert evidence.sha256 == hashlib.sha256(content).hexdigest() and evidence.filename == "x.pdf"
    download = browser(owner).get(f"/governance/evidence/{evidence.pk}/")
    assert b"".join(download.streaming_content) == content
    assert download["Content-Type"] == "application/octet-stream"


def test_link_evidence_links_out_directly_and_is_never_a_redirect_from_arbiter(owner, viewer, draft):
    destination = "https://dms.example.org/dpia?v=3"
    evidence = services.assessment_evidence_add(actor=owner, assessment=draft, url=destination, title="DPIA")
    detail = browser(viewer).get(f"/governance/assessments/{draft.pk}/").content.decode()
    link = f'<a href="{destination}" rel="noopener noreferrer nofollow" target="_blank">DPIA</a>'
    assert link in detail
    assert "dms.example.org" in detail.split(link, 1)[1][:200], "the destination is shown next to the link"
    assert f"/governance/evidence/{evidence.pk}/" not in detail
    page = browser(viewer).get(f"/governance/evidence/{evidence.pk}/")
    assert page.status_code == 200 and "Location" not in page
    text = page.content.decode()
    assert f"data-destination>{destination}</p>" in text
    assert f'href="{destination}" rel="noopener noreferrer nofollow"' in text


def test_submit_page_lists_what_is_missing_with_links(owner, draft):
    page = browser(owner).get(f"/governance/assessments/{draft.pk}/submit/").content.decode()
    assert "required questions still need an answer" in page
    assert f"/governance/assessments/{draft.pk}/step/1/#question-intended_purpose" in page


def submitted(owner, draft):
    services.assessment_answer(actor=owner, assessment=draft, answers=CREDIT_SCORING)
    return services.assessment_submit(actor=owner, assessment=draft)


def test_risk_officer_approves_in_the_page(owner, risk_officer, credit, draft):
    submitted(owner, draft)
    client = browser(risk_officer)
    page = client.get(f"/governance/assessments/{draft.pk}/").content.decode()
    assert "Record decision" in page
    response = client.post(f"/governance/assessments/{draft.pk}/decide/", {"decision": "approve", "comment": "ok"})
    assert response.status_code == 302
    credit.refresh_from_db()
    assert credit.risk_tier == "high"


def test_separation_of_duties_is_refused_with_a_message(risk_officer, credit, eu_template, team_alpha):
    team_alpha.group.user_set.add(risk_officer)
    assessment = services.assessment_create(actor=risk_officer, model=credit, template=eu_template)
    submitted(risk_officer, assessment)
    client = browser(risk_officer)
    page = client.get(f"/governance/assessments/{assessment.pk}/").content.decode()
    assert "Record decision" not in page and "separation of duties" in page
    response = client.post(f"/governance/assessments/{assessment.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 403
    assert "another risk officer must review it" in response.content.decode()


def test_the_printable_view_has_every_shown_answer_and_print_styles(owner, draft):
    services.assessment_answer(actor=owner, assessment=draft, answers=CREDIT_SCORING)
    page = browser(owner).get(f"/governance/assessments/{draft.pk}/").content.decode()
    assert "css/assessments.css" in page and "data-print" in page
    assert "Annex III 5(b)" in page and "Does the system perform profiling" in page
    assert "Does the system only do one of the following" not in page, "hidden questions are left out"


def test_editing_a_used_template_in_the_ui_makes_a_new_version(owner, risk_officer, draft, eu_template):
    client = browser(risk_officer)
    form = client.get(f"/governance/templates/{eu_template.pk}/edit/").context["form"]
    definition = form.initial["definition"].replace("Describe the system's intended purpose", "What is it for")
    response = client.post(
        f"/governance/templates/{eu_template.pk}/edit/",
        {"title": eu_template.title, "description": eu_template.description, "definition": definition},
    )
    successor = AssessmentTemplate.objects.get(key="eu-ai-act", version=eu_template.version + 1)
    assert response.status_code == 302 and response.url == f"/governance/templates/{successor.pk}/"
    draft.refresh_from_db()
    assert draft.template_id == eu_template.pk


def test_template_editor_shows_problems_with_their_path(risk_officer, eu_template):
    response = browser(risk_officer).post(
        f"/governance/templates/{eu_template.pk}/edit/",
        {
            "title": "x",
            "definition": "sections:\n  - id: s\n    title: S\n    questions:\n      - {id: q, type: colour}\n",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["definition"]
    assert any("sections[0].questions[0] (q).type" in e for e in errors)
    response = browser(risk_officer).post(
        f"/governance/templates/{eu_template.pk}/edit/", {"title": "x", "definition": "a: [b"}
    )
    assert "not valid YAML" in response.context["form"].errors["definition"][0]


def test_catalog_and_model_page_flag_an_overdue_re_review(owner, risk_officer, credit, draft):
    submitted(owner, draft)
    services.assessment_approve(actor=risk_officer, assessment=draft)
    Assessment.objects.filter(pk=draft.pk).update(valid_until=timezone.localdate() - dt.timedelta(days=1))
    tasks.assessments_review()
    client = browser(owner)
    assert 'data-review="overdue"' in client.get("/").content.decode()
    assert 'data-review="overdue"' in client.get("/models/credit-scoring/").content.decode()


def test_catalog_flags_a_re_review_due_soon(owner, risk_officer, credit, draft):
    submitted(owner, draft)
    services.assessment_approve(actor=risk_officer, assessment=draft)
    Assessment.objects.filter(pk=draft.pk).update(valid_until=timezone.localdate() + dt.timedelta(days=10))
    assert 'data-review="due_soon"' in browser(owner).get("/").content.decode()


def test_model_assessments_tab_explains_the_gate(owner, credit, frameworks):
    page = browser(owner).get("/governance/models/credit-scoring/assessments/").content.decode()
    assert "has no approved risk assessment" in page and "No assessments yet" in page


def test_nist_checklist_runs_through_the_same_forms(owner, credit, frameworks):
    nist = frameworks["nist-ai-rmf"]
    assessment = services.assessment_create(actor=owner, model=credit, template=nist)
    response = browser(owner).post(step_url(assessment, 1), {"gv_1": "4", "_action": "save"})
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.answers == {"gv_1": 4} and assessment.score == 3


def test_risk_created_from_an_assessment_suggestion(owner, risk_officer, credit, draft):
    submitted(owner, draft)
    services.assessment_approve(actor=risk_officer, assessment=draft)
    client = browser(risk_officer)
    page = client.get(f"/governance/assessments/{draft.pk}/").content.decode()
    assert "Profiling of natural persons" in page and "Add to register" in page
    response = client.post(
        f"/governance/models/credit-scoring/risks/new/?assessment={draft.pk}",
        {
            "title": "Profiling of natural persons",
            "category": "privacy",
            "likelihood": "3",
            "impact": "4",
            "owner": owner.pk,
            "status": "open",
            "assessment": draft.pk,
            "question_ids": ["art6_3_profiling"],
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    risk = credit.risks.get()
    assert risk.question_ids == ["art6_3_profiling"] and risk.inherent_rating == 12
    page = client.get(f"/governance/assessments/{draft.pk}/").content.decode()
    assert "Profiling of natural persons</a>" in page


def test_chatbot_answers_in_the_browser_give_limited(owner, draft):
    answers = {**EU_BASELINE, "art50_1_interaction": True, "art50_disclosure": "Banner."}
    services.assessment_answer(actor=owner, assessment=draft, answers=answers)
    page = browser(owner).get(f"/governance/assessments/{draft.pk}/submit/").content.decode()
    assert "Limited risk" in page and "Art. 50(1)" in page


@pytest.mark.parametrize("page", ["assessmenttemplate", "assessment", "risk"])
def test_admin_lists_are_read_only(admin_client, draft, page):
    response = admin_client.get(f"/admin/governance/{page}/")
    assert response.status_code == 200
    assert admin_client.get(f"/admin/governance/{page}/add/").status_code == 403
