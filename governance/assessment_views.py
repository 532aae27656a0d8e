"""Risk assessment pages: a model's assessments and risk register, the questionnaire itself (one section per
step), the read-only (printable) assessment, the risk officers' review queue, the risk portfolio, and the
questionnaire templates. Thin: selectors to read, services to write, forms to show errors."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from governance import evidence as evidence_storage
from governance import questionnaire, scoring, selectors, services
from governance.choices import OPEN_RISK_STATUSES, AssessmentStatus, QuestionType, RiskCategory, RiskStatus
from governance.forms import (
    DecisionForm,
    RiskForm,
    StartAssessmentForm,
    TemplateForm,
    definition_as_yaml,
    evidence_field_names,
    step_form,
)
from governance.models import Assessment, AssessmentEvidence
from registry import permissions
from registry import selectors as registry_selectors
from registry.exceptions import DomainError
from registry.pagination import CappedPaginator

PAGE_SIZES = (10, 25, 50, 100)


def _page(request, queryset, default: int = 25):
    try:
        size = int(request.GET.get("page_size", default))
    except ValueError:
        size = default
    size = size if size in PAGE_SIZES else default
    return CappedPaginator(queryset, size).get_page(request.GET.get("page"))


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _risk_nav(request) -> dict[str, Any]:
    """The Risk section's tabs and their counts (one query each)."""
    reviewer = permissions.can_review_assessments(request.user)
    return {
        "risk_nav_reviewer": reviewer,
        "risk_nav_waiting": selectors.assessment_review_queue(user=request.user).count() if reviewer else None,
        "risk_nav_counts": selectors.risk_counts(user=request.user),
    }


def _model_page(request, model, tab: str, **extra) -> dict[str, Any]:
    return {"model": model, "perms": permissions.model_perms_for(request.user, model), "tab": tab, **extra}


# --- A model's assessments ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def model_assessments(request, name):
    model = registry_selectors.model_get(user=request.user, name=name)
    can_start = permissions.can_create_assessment(request.user, model)
    versions = list(model.versions.order_by("-version").values_list("version", flat=True))
    form = None
    if can_start or request.method == "POST":
        form = StartAssessmentForm(
            request.POST or None, templates=selectors.template_list(user=request.user), versions=versions
        )
    if request.method == "POST":
        permissions.require_create_assessment(request.user, model)
        if form.is_valid():
            number = form.cleaned_data["model_version"]
            version = model.versions.filter(version=number).first() if number else None
            try:
                assessment = services.assessment_create(
                    actor=request.user, model=model, template=form.cleaned_data["template"], model_version=version
                )
            except DomainError as exc:
                form.apply_error(exc)
            else:
                messages.success(request, "Assessment started. Answer each section; your answers save as a draft.")
                return redirect("governance:assessment-step", pk=assessment.pk, step=1)
    context = _model_page(
        request,
        model,
        "assessments",
        page=_page(request, selectors.assessment_list(user=request.user, model=model)),
        current=selectors.model_current_assessment(model),
        gate=selectors.assessment_gate_check(model),
        review_flag=selectors.review_flags([model.pk]).get(model.pk),
        form=form,
        can_start=can_start,
    )
    return render(request, "governance/model_assessments.html", context)


# --- One assessment -------------------------------------------------------------------------------------------


def _evidence_by_question(assessment: Assessment) -> dict[str, list[AssessmentEvidence]]:
    grouped: dict[str, list[AssessmentEvidence]] = {}
    for item in assessment.evidence.select_related("added_by"):
        grouped.setdefault(item.question_id, []).append(item)
    return grouped


def _answered_sections(assessment: Assessment, evidence: dict[str, list]) -> list[dict[str, Any]]:
    """The questions that were shown, with their answers as a person reads them, section by section."""
    definition = assessment.template.definition
    shown = questionnaire.visible_question_ids(definition, assessment.answers)
    sections = []
    for section in definition["sections"]:
        rows = [
            {
                "question": question,
                "answer": questionnaire.answer_label(question, assessment.answers.get(question["id"])),
                "references": questionnaire.answer_references(question, assessment.answers.get(question["id"])),
                "evidence": evidence.get(question["id"], []),
            }
            for question in section["questions"]
            if question["id"] in shown
        ]
        if rows:
            sections.append({"section": section, "rows": rows})
    return sections


def _unregistered_suggestions(assessment: Assessment) -> list[dict[str, Any]]:
    """Risks the answers suggest, minus those whose question a risk of this assessment already links."""
    linked = {qid for ids in assessment.risks.values_list("question_ids", flat=True) for qid in ids}
    suggestions = scoring.suggested_risks(assessment.template.definition, assessment.answers)
    return [s for s in suggestions if s["question"] not in linked]


def assessment_detail(request, pk):
    """The read-only assessment: its tier and why, every answer with its reference, evidence, sign-off.
    Also the printable version (print CSS), and where risk officers approve or return it."""
    assessment = selectors.assessment_get(user=request.user, pk=pk)
    evidence = _evidence_by_question(assessment)
    can_answer = assessment.is_editable and permissions.can_answer_assessment(request.user, assessment)
    refusal = None
    if assessment.status == AssessmentStatus.SUBMITTED and permissions.can_review_assessments(request.user):
        refusal = permissions.assessment_approval_refusal(request.user, assessment)
    can_decide = assessment.status == AssessmentStatus.SUBMITTED and permissions.can_approve_assessment(
        request.user, assessment
    )
    can_manage_risks = permissions.can_manage_risks(request.user, assessment.model)
    context = {
        "assessment": assessment,
        "model": assessment.model,
        "sections": _answered_sections(assessment, evidence),
        "general_evidence": evidence.get("", []),
        "explanation": assessment.explanation,
        "can_answer": can_answer,
        "can_decide": can_decide,
        "approval_refusal": refusal,
        "decision_form": DecisionForm() if can_decide else None,
        "risks": assessment.risks.select_related("owner").order_by("-inherent_rating"),
        "suggested_risks": _unregistered_suggestions(assessment) if can_manage_risks else [],
        "can_manage_risks": can_manage_risks,
        "progress": questionnaire.section_progress(
            assessment.template.definition, assessment.answers, {q for q in evidence if q}
        ),
    }
    return render(request, "governance/assessment_detail.html", context)


def _editable_assessment(request, pk) -> Assessment:
    assessment = selectors.assessment_get(user=request.user, pk=pk)
    permissions.require_answer_assessment(request.user, assessment)
    return assessment


def _section(assessment: Assessment, step: int) -> dict[str, Any]:
    sections = assessment.template.definition["sections"]
    if not 1 <= step <= len(sections):
        raise Http404("This questionnaire has no such step.")
    return sections[step - 1]


def _lenient_answers(form_class, data, section, answers) -> dict[str, Any]:
    """The section's answers as currently typed (invalid ones ignored) over the saved ones, for live
    visibility and the tier preview: nothing is saved."""
    merged = dict(answers)
    form = form_class(data, section=section, answers=answers)
    for name, field in form.fields.items():
        try:
            value = field.clean(field.widget.value_from_datadict(data, None, name))
        except Exception:  # noqa: BLE001 - a half-typed answer is simply not counted yet
            continue
        if value in (None, "", []):
            merged.pop(name, None)
            continue
        try:
            merged[name] = questionnaire.clean_answer(form.questions[name], value)
        except questionnaire.AnswerError:
            continue
    return merged


def _attach_evidence(request, assessment: Assessment, section: dict[str, Any]) -> dict[str, list[str]]:
    """Evidence typed into the step's evidence boxes (a file or a link per question). Errors by question."""
    errors: dict[str, list[str]] = {}
    for question in section["questions"]:
        if not question["evidence"]:
            continue
        file_name, url_name, title_name = evidence_field_names(question["id"])
        upload, url = request.FILES.get(file_name), request.POST.get(url_name, "").strip()
        if upload is None and not url:
            continue
        try:
            services.assessment_evidence_add(
                actor=request.user,
                assessment=assessment,
                file=upload,
                url="" if upload is not None else url,
                title=request.POST.get(title_name, ""),
                question_id=question["id"],
            )
        except DomainError as exc:
            errors[question["id"]] = [exc.message, *(m for ms in exc.fields.values() for m in ms if m != exc.message)]
    return errors


def _step_context(request, assessment, step, section, form, answers, evidence_errors) -> dict[str, Any]:
    definition = assessment.template.definition
    evidence = _evidence_by_question(assessment)
    shown = questionnaire.visible_question_ids(definition, answers)
    rows = [
        {
            "question": question,
            "field": form[question["id"]] if question["id"] in form.fields else None,
            "hidden": question["id"] not in shown,
            "evidence": evidence.get(question["id"], []),
            "evidence_names": evidence_field_names(question["id"]),
            "evidence_errors": evidence_errors.get(question["id"], []),
            "exclusive": [o["value"] for o in question.get("options", []) if o.get("exclusive")],
            "option_refs": {o["value"]: o["reference"] for o in question.get("options", []) if o.get("reference")},
        }
        for question in section["questions"]
    ]
    progress = questionnaire.section_progress(definition, answers, {q for q in evidence if q})
    required = sum(p["required"] for p in progress)
    complete = sum(min(p["required"], p["answered"]) for p in progress)
    return {
        "assessment": assessment,
        "model": assessment.model,
        "step": step,
        "steps": len(definition["sections"]),
        "section": section,
        "form": form,
        "rows": rows,
        "section_applies": any(not row["hidden"] for row in rows),
        "progress": progress,
        "percent": round(100 * complete / required) if required else 100,
        "preview": scoring.score(definition, answers),
    }


@require_http_methods(["GET", "POST"])
def assessment_step(request, pk, step):
    """One section of the questionnaire. Buttons: save draft, save and go back, save and continue."""
    assessment = _editable_assessment(request, pk)
    if not assessment.is_editable:
        messages.info(request, f"This assessment is {assessment.get_status_display().lower()}: it is read-only now.")
        return redirect(assessment)
    section = _section(assessment, step)
    form_class = step_form(section)
    evidence_errors: dict[str, list[str]] = {}
    answers = assessment.answers
    if request.method == "POST":
        form = form_class(request.POST, request.FILES, section=section, answers=assessment.answers)
        action = request.POST.get("_action", "save")
        if form.is_valid():
            try:
                assessment = services.assessment_answer(
                    actor=request.user, assessment=assessment, answers=form.answers()
                )
            except DomainError as exc:
                form.apply_error(exc)
            else:
                evidence_errors = _attach_evidence(request, assessment, section)
                if not evidence_errors:
                    next_url = _after_save(request, assessment, step, section, form, action)
                    if next_url:
                        return redirect(next_url)
        answers = _lenient_answers(form_class, request.POST, section, assessment.answers)
    else:
        form = form_class(section=section, answers=assessment.answers)
    context = _step_context(request, assessment, step, section, form, answers, evidence_errors)
    return render(request, "governance/assessment_step.html", context)


def _after_save(request, assessment, step, section, form, action) -> str | None:
    """Where to go after a successful save, or None to show the step again with what is missing."""
    here = reverse("governance:assessment-step", kwargs={"pk": assessment.pk, "step": step})
    if action == "previous" and step > 1:
        return reverse("governance:assessment-step", kwargs={"pk": assessment.pk, "step": step - 1})
    if action != "next":
        messages.success(request, "Draft saved.")
        return here
    ids = {q["id"] for q in section["questions"]}
    evidence = set(assessment.evidence.exclude(question_id="").values_list("question_id", flat=True))
    missing = {
        qid: message
        for qid, message in questionnaire.missing_answers(
            assessment.template.definition, assessment.answers, evidence
        ).items()
        if qid in ids
    }
    if missing:
        for qid, message in missing.items():
            if qid in form.fields:
                form.add_error(qid, message)
        messages.warning(request, f"Saved. {len(missing)} required question(s) in this section still need an answer.")
        return None
    if step < len(assessment.template.definition["sections"]):
        return reverse("governance:assessment-step", kwargs={"pk": assessment.pk, "step": step + 1})
    return reverse("governance:assessment-submit", kwargs={"pk": assessment.pk})


@require_POST
def assessment_visibility(request, pk):
    """htmx: which of the step's questions the answers being typed show, and the tier they would give.
    Answers nothing: the visibility goes back in an `HX-Trigger` event (static/js/assessments.js toggles the
    questions, keeping focus where it is), the tier preview as an out-of-band swap."""
    assessment = _editable_assessment(request, pk)
    try:
        step = int(request.POST.get("_step", "1"))
    except ValueError:
        step = 1
    section = _section(assessment, step)
    answers = _lenient_answers(step_form(section), request.POST, section, assessment.answers)
    definition = assessment.template.definition
    shown = questionnaire.visible_question_ids(definition, answers)
    ids = [q["id"] for q in section["questions"]]
    response = render(
        request, "governance/_tier_preview.html", {"preview": scoring.score(definition, answers), "oob": True}
    )
    response["HX-Trigger"] = json.dumps(
        {
            "assessment:visibility": {
                "shown": [i for i in ids if i in shown],
                "hidden": [i for i in ids if i not in shown],
            }
        }
    )
    return response


@require_http_methods(["GET", "POST"])
def assessment_submit(request, pk):
    """The last step: what is still missing, the tier the answers give, and the submit button."""
    assessment = _editable_assessment(request, pk)
    if not assessment.is_editable:
        return redirect(assessment)
    if request.method == "POST":
        try:
            services.assessment_submit(actor=request.user, assessment=assessment)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Submitted. A risk officer will review it; you will see the decision here.")
            return redirect(assessment)
    definition = assessment.template.definition
    evidence = set(assessment.evidence.exclude(question_id="").values_list("question_id", flat=True))
    missing = questionnaire.missing_answers(definition, assessment.answers, evidence)
    questions = questionnaire.questions_by_id(definition)
    step_of = {q["id"]: i for i, s in enumerate(definition["sections"], start=1) for q in s["questions"]}
    context = {
        "assessment": assessment,
        "model": assessment.model,
        "missing": [
            {"question": questions[qid].data, "message": m, "step": step_of[qid]} for qid, m in missing.items()
        ],
        "progress": questionnaire.section_progress(definition, assessment.answers, evidence),
        "steps": len(definition["sections"]),
        "preview": scoring.score(definition, assessment.answers),
    }
    return render(request, "governance/assessment_submit.html", context)


@require_POST
def assessment_decide(request, pk):
    """A risk officer approves or returns a submitted assessment. Refusals (separation of duties) are 403s
    that say why."""
    assessment = selectors.assessment_get(user=request.user, pk=pk)
    permissions.require_approve_assessment(request.user, assessment)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose to approve or to return the assessment.")
        return redirect(assessment)
    decision, comment = form.cleaned_data["decision"], form.cleaned_data["comment"]
    try:
        if decision == "approve":
            services.assessment_approve(actor=request.user, assessment=assessment, comment=comment)
        else:
            services.assessment_return(actor=request.user, assessment=assessment, comment=comment)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if decision == "approve":
            messages.success(request, f"Approved. {assessment.model.name}'s risk tier now follows this assessment.")
        else:
            messages.success(request, "Returned to the assessor with your comment.")
    return redirect(assessment)


# --- Evidence ---------------------------------------------------------------------------------------------------


@require_POST
def evidence_add(request, pk):
    """Attach evidence to the assessment as a whole (per-question evidence is added on its step)."""
    assessment = _editable_assessment(request, pk)
    upload, url = request.FILES.get("file"), request.POST.get("url", "").strip()
    try:
        services.assessment_evidence_add(
            actor=request.user,
            assessment=assessment,
            file=upload,
            url="" if upload is not None else url,
            title=request.POST.get("title", ""),
            question_id=request.POST.get("question_id", ""),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Evidence attached.")
    return redirect(_safe_next(request, assessment.get_absolute_url()))


def _evidence(request, pk) -> AssessmentEvidence:
    evidence = (
        permissions.restrict(
            AssessmentEvidence.objects.select_related("assessment", "assessment__model"),
            request.user,
            permissions.Action.VIEW,
        )
        .filter(pk=pk)
        .first()
    )
    if evidence is None:
        raise Http404("No such evidence, or you do not have access to its model.")
    return evidence


@require_GET
def evidence_download(request, pk):
    """The stored file, as an attachment under its sanitised name. A link is never a redirect from Arbiter's
    origin: its page shows the destination and links out (rel="noopener noreferrer")."""
    evidence = _evidence(request, pk)
    if not evidence.storage_name:
        return render(request, "governance/evidence_link.html", {"evidence": evidence})
    response = FileResponse(
        evidence_storage.open_file(evidence.storage_name),
        as_attachment=True,
        filename=evidence.filename,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Digest"] = f"sha-256={evidence.sha256}"
    return response


def _safe_next(request, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return default


@require_POST
def evidence_remove(request, pk):
    evidence = _evidence(request, pk)
    services.assessment_evidence_remove(actor=request.user, evidence=evidence)
    if request.headers.get("HX-Request"):
        return HttpResponse("")
    messages.success(request, "Evidence removed.")
    return redirect(_safe_next(request, evidence.assessment.get_absolute_url()))


# --- Risk officers ------------------------------------------------------------------------------------------------


def review_queue(request):
    queue = selectors.assessment_review_queue(user=request.user)
    page = _page(request, queue)
    rows = [
        {"assessment": a, "refusal": permissions.assessment_approval_refusal(request.user, a)} for a in page.object_list
    ]
    context = {"page": page, "rows": rows, "query": _query_without_page(request), "risk_tab": "review"}
    return render(request, "governance/review_queue.html", {**context, **_risk_nav(request)})


# --- Risk register -----------------------------------------------------------------------------------------------


def _risk_filters(request) -> dict[str, Any]:
    status = request.GET.get("status", "open")
    statuses = OPEN_RISK_STATUSES if status == "open" else ([status] if status in RiskStatus.values else None)
    category = request.GET.get("category") if request.GET.get("category") in RiskCategory.values else None
    sort = request.GET.get("sort", "rating")
    sort = sort if sort in selectors.RISK_SORTS else "rating"
    return {"statuses": statuses, "category": category, "sort": sort, "status": status}


def _risk_list_context(request, risks, filters) -> dict[str, Any]:
    page = _page(request, risks)
    query = request.GET.copy()
    for key in ("page", "sort"):
        query.pop(key, None)
    return {
        "page": page,
        "heatmap": selectors.risk_heatmap(risks),
        "filters": filters,
        "query": _query_without_page(request),
        "sort_query": query.urlencode(),
        "status_choices": [("open", "Open (open and in mitigation)"), *RiskStatus.choices, ("all", "All")],
        "category_choices": RiskCategory.choices,
        "page_sizes": PAGE_SIZES,
    }


def risk_portfolio(request):
    """Open risks across every model the user may see, sortable by rating and due date, with a heat map."""
    filters = _risk_filters(request)
    risks = selectors.risk_list(
        user=request.user, statuses=filters["statuses"], sort=filters["sort"], category=filters["category"]
    )
    context = {**_risk_list_context(request, risks, filters), "risk_tab": "portfolio", **_risk_nav(request)}
    return render(request, "governance/risk_portfolio.html", context)


def model_risks(request, name):
    model = registry_selectors.model_get(user=request.user, name=name)
    filters = _risk_filters(request)
    risks = selectors.risk_list(
        user=request.user, model=model, statuses=filters["statuses"], sort=filters["sort"], category=filters["category"]
    )
    context = _model_page(
        request,
        model,
        "risks",
        can_manage=permissions.can_manage_risks(request.user, model),
        **_risk_list_context(request, risks, filters),
    )
    return render(request, "governance/model_risks.html", context)


def _risk_form_data(form) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    data["question_ids"] = list(data.get("question_ids") or [])
    return data


@require_http_methods(["GET", "POST"])
def risk_create(request, name):
    model = registry_selectors.model_get(user=request.user, name=name)
    permissions.require_manage_risks(request.user, model)
    source = None
    if request.GET.get("assessment", "").isdigit():
        source = model.assessments.select_related("template").filter(pk=request.GET["assessment"]).first()
    initial = {
        "owner": model.owner_id,
        "assessment": source.pk if source else None,
        "question_ids": request.GET.getlist("question"),
        "title": request.GET.get("title", ""),
        "category": request.GET.get("category", RiskCategory.OTHER),
    }
    form = RiskForm(request.POST or None, model=model, assessment=source, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.risk_create(actor=request.user, model=model, **_risk_form_data(form))
        except DomainError as exc:
            form.apply_error(exc)
        else:
            messages.success(request, "Risk added to the register.")
            return redirect("governance:model-risks", name=model.name)
    return render(request, "governance/risk_form.html", _model_page(request, model, "risks", form=form, creating=True))


@require_http_methods(["GET", "POST"])
def risk_edit(request, pk):
    risk = selectors.risk_get(user=request.user, pk=pk)
    permissions.require_manage_risks(request.user, risk.model)
    initial = {field: getattr(risk, field) for field in services.RISK_FIELDS if field not in ("owner", "assessment")}
    initial.update(owner=risk.owner_id, assessment=risk.assessment_id)
    form = RiskForm(request.POST or None, model=risk.model, assessment=risk.assessment, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.risk_update(actor=request.user, risk=risk, data=_risk_form_data(form))
        except DomainError as exc:
            form.apply_error(exc)
        else:
            messages.success(request, "Risk updated.")
            return redirect("governance:model-risks", name=risk.model.name)
    context = _model_page(request, risk.model, "risks", form=form, creating=False, risk=risk)
    return render(request, "governance/risk_form.html", context)


# --- Templates ----------------------------------------------------------------------------------------------------


def template_list(request):
    context = {
        "templates": selectors.template_list(user=request.user),
        "can_manage": permissions.can_manage_templates(request.user),
        "risk_tab": "templates",
        **_risk_nav(request),
    }
    return render(request, "governance/template_list.html", context)


def template_detail(request, pk):
    template = selectors.template_get(user=request.user, pk=pk)
    latest = selectors.template_latest(key=template.key)
    context = {
        "template": template,
        "is_latest": latest.pk == template.pk,
        "latest": latest,
        "versions": selectors.template_versions(key=template.key),
        "can_manage": permissions.can_manage_templates(request.user),
        "question_count": sum(len(s["questions"]) for s in template.sections),
        "types": dict(QuestionType.choices),
        "risk_tab": "templates",
        **_risk_nav(request),
    }
    return render(request, "governance/template_detail.html", context)


@require_http_methods(["GET", "POST"])
def template_create(request):
    permissions.require_manage_templates(request.user)
    form = TemplateForm(request.POST or None, initial={"framework": "internal", "definition": _STARTER})
    if request.method == "POST" and form.is_valid():
        try:
            template = services.template_create(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.apply_error(exc)
        else:
            messages.success(request, f"Created {template}.")
            return redirect(template)
    context = {"form": form, "creating": True, "risk_tab": "templates", **_risk_nav(request)}
    return render(request, "governance/template_form.html", context)


@require_http_methods(["GET", "POST"])
def template_edit(request, pk):
    permissions.require_manage_templates(request.user)
    template = selectors.template_get(user=request.user, pk=pk)
    initial = {
        "title": template.title,
        "description": template.description,
        "definition": definition_as_yaml(template.definition),
    }
    form = TemplateForm(request.POST or None, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.template_update(actor=request.user, template=template, **form.cleaned_data)
        except DomainError as exc:
            form.apply_error(exc)
        else:
            if saved.pk == template.pk:
                messages.success(request, f"Saved {saved}.")
            else:
                messages.success(
                    request, f"Saved as version {saved.version}: existing assessments keep version {template.version}."
                )
            return redirect(saved)
    context = {
        "form": form,
        "template": template,
        "creating": False,
        "used_by": template.used_by,
        "is_latest": selectors.template_latest(key=template.key).pk == template.pk,
        "risk_tab": "templates",
        **_risk_nav(request),
    }
    return render(request, "governance/template_form.html", context)


_STARTER = """sections:
  - id: purpose
    title: Purpose
    questions:
      - id: intended_use
        text: What is the system for, and who does it affect?
        type: long_text
        required: true
      - id: affects_people
        text: Does it make or support decisions about people?
        type: yes_no
        required: true
        weights: {yes: 10}
      - id: oversight
        text: Who reviews those decisions?
        type: short_text
        required: true
        show_if: {question: affects_people, equals: yes}
scoring:
  classifies: false
"""
