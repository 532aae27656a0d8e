"""`manage.py seed_demo`: demo users, teams, a dozen realistic models and a few risk assessments and risks.
Safe to run again (idempotent).

Everything is created through the services, so the demo's audit trail is real and verifies.
"""

from __future__ import annotations

import json
import os
import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from governance import gate
from governance import selectors as governance_selectors
from governance import services as governance_services
from governance.choices import CommitteeRole, VoteDecision
from governance.defaults import COMMITTEES
from governance.models import Assessment, Committee
from registry import services
from registry.choices import ArtifactKind, Stage, Visibility
from registry.models import RegisteredModel, Team
from registry.permissions import Role

User = get_user_model()
DEFAULT_PASSWORD = "arbiter-demo"

USERS = [
    # username, roles, teams, superuser
    ("admin", [Role.ADMINISTRATOR], [], True),
    ("owner", [Role.MODEL_OWNER], ["Credit Risk Analytics", "Customer Intelligence"], False),
    ("clinician", [Role.MODEL_OWNER], ["Clinical AI"], False),
    ("reviewer", [Role.REVIEWER], [], False),
    ("reviewer2", [Role.REVIEWER], [], False),
    ("risk", [Role.RISK_OFFICER], [], False),
    ("auditor", [Role.AUDITOR], [], False),
    ("viewer", [Role.VIEWER], [], False),
]

COMMITTEE_MEMBERS = {
    "peer-review": [("reviewer2", CommitteeRole.MEMBER), ("reviewer", CommitteeRole.MEMBER)],
    "model-review-committee": [("reviewer", CommitteeRole.CHAIR), ("reviewer2", CommitteeRole.MEMBER)],
    "risk-compliance-committee": [("risk", CommitteeRole.CHAIR)],
}


def demo_accounts() -> list[dict[str, list[str] | str]]:
    """Every demo user with its roles, teams and committee seats (committee name and role), in USERS order:
    what README's "Demo users" table and the sign-in page's hint list."""
    committee_names = {slug: name for name, slug, *_rest in COMMITTEES}
    seats: dict[str, list[str]] = {}
    for slug, members in COMMITTEE_MEMBERS.items():
        for username, role in members:
            seats.setdefault(username, []).append(f"{committee_names[slug]} ({role})")
    return [
        {
            "username": username,
            "roles": [r.value for r in roles],
            "teams": list(teams),
            "committees": seats.get(username, []),
        }
        for username, roles, teams, _superuser in USERS
    ]


TEAMS = {
    "Credit Risk Analytics": "Retail and SME credit decisioning models.",
    "Fraud & Payments": "Real-time fraud and payment risk.",
    "Customer Intelligence": "Churn, recommendations and marketing analytics.",
    "Clinical AI": "Medical imaging and clinical decision support.",
    "Conversational AI": "Assistants and language models.",
}

# name, title, team, owner, task, framework, tier, visibility, versions, metric names, description
MODELS = [
    (
        "credit-scoring",
        "Retail credit scoring",
        "Credit Risk Analytics",
        "owner",
        "classification",
        "xgboost",
        "high",
        Visibility.INTERNAL,
        5,
        ("auc", "ks", "gini"),
        "Probability of default at 12 months for **retail loan applicants**. Used to approve or decline "
        "applications and set limits.\n\n- Gradient-boosted trees on bureau and application data\n"
        "- Calibrated with isotonic regression",
    ),
    (
        "fraud-detection",
        "Card transaction fraud detection",
        "Fraud & Payments",
        "owner",
        "classification",
        "lightgbm",
        "minimal",
        Visibility.INTERNAL,
        4,
        ("auc", "precision_at_1pct", "recall"),
        "Scores card-not-present transactions in under 20 ms; high scores go to step-up authentication.",
    ),
    (
        "churn-prediction",
        "Customer churn propensity",
        "Customer Intelligence",
        "owner",
        "classification",
        "scikit-learn",
        "minimal",
        Visibility.INTERNAL,
        3,
        ("auc", "f1", "accuracy"),
        "Monthly propensity to cancel, used to prioritise retention offers.",
    ),
    (
        "chest-xray-triage",
        "Chest X-ray triage",
        "Clinical AI",
        "clinician",
        "classification",
        "pytorch",
        "high",
        Visibility.RESTRICTED,
        4,
        ("sensitivity", "specificity", "auc"),
        "Flags chest radiographs with suspected pneumothorax for priority reading. **Decision support only**.",
    ),
    (
        "support-assistant",
        "Customer support assistant (LLM)",
        "Conversational AI",
        "admin",
        "generation",
        "transformers",
        "limited",
        Visibility.INTERNAL,
        3,
        ("helpfulness", "groundedness", "toxicity_rate"),
        "Retrieval-augmented assistant answering account questions; discloses that it is an AI system.",
    ),
    (
        "aml-monitoring",
        "AML transaction monitoring",
        "Fraud & Payments",
        "admin",
        "anomaly_detection",
        "pytorch",
        "unassessed",
        Visibility.RESTRICTED,
        2,
        ("alert_precision", "recall"),
        "Ranks accounts for anti-money-laundering investigation queues.",
    ),
    (
        "demand-forecast",
        "Store demand forecasting",
        "Customer Intelligence",
        "owner",
        "forecasting",
        "lightgbm",
        "minimal",
        Visibility.INTERNAL,
        5,
        ("mape", "rmse"),
        "Daily SKU-level demand forecast for replenishment, 28-day horizon.",
    ),
    (
        "product-recommender",
        "Product recommendations",
        "Customer Intelligence",
        "owner",
        "ranking",
        "pytorch",
        "minimal",
        Visibility.INTERNAL,
        3,
        ("ndcg_at_10", "recall_at_20"),
        "Two-tower retrieval model with a re-ranker for the web shop.",
    ),
    (
        "invoice-ocr",
        "Invoice field extraction",
        "Fraud & Payments",
        "admin",
        "object_detection",
        "onnx",
        "unassessed",
        Visibility.INTERNAL,
        1,
        ("field_f1",),
        "Extracts supplier, amounts and dates from scanned invoices.",
    ),
    (
        "health-insurance-pricing",
        "Health insurance pricing",
        "Credit Risk Analytics",
        "owner",
        "regression",
        "xgboost",
        "high",
        Visibility.INTERNAL,
        2,
        ("gini", "rmse"),
        "Risk premium model for individual health cover (Annex III 5(c) area).",
    ),
    (
        "cv-screening",
        "CV screening assistant",
        "Customer Intelligence",
        "admin",
        "ranking",
        "transformers",
        "high",
        Visibility.RESTRICTED,
        2,
        ("ndcg_at_10", "demographic_parity_gap"),
        "Ranks applications for recruiter review. Employment use: high-risk under Annex III 4(a).",
    ),
    (
        "review-sentiment",
        "Product review sentiment",
        "Customer Intelligence",
        "owner",
        "classification",
        "transformers",
        "minimal",
        Visibility.INTERNAL,
        2,
        ("accuracy", "macro_f1"),
        "Classifies review sentiment for the insights dashboard.",
    ),
]


class Command(BaseCommand):
    help = "Create demo users, teams and models (idempotent). Password from DEMO_PASSWORD."

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD", DEFAULT_PASSWORD)
        # The demo's people have made-up addresses: their notifications go to the inbox, not the console.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"), transaction.atomic():
            admin = self._users(password)
            self._committees(admin)
            teams = self._teams(admin)
            created = self._models(admin, teams)
            assessed = self._assessments()
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready ({created} models, {assessed} risk assessments created).")
        )
        shown = "the DEMO_PASSWORD you set" if "DEMO_PASSWORD" in os.environ else f"'{password}'"
        self.stdout.write(f"Sign in with password {shown} as:")
        for account in demo_accounts():
            seats = f"; {', '.join(account['committees'])}" if account["committees"] else ""
            self.stdout.write(f"  {account['username']:<10} {', '.join(account['roles'])}{seats}")

    def _users(self, password: str):
        for username, roles, _teams, superuser in USERS:
            user, made = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.org", "first_name": username.title()}
            )
            if made:
                user.set_password(password)
                user.is_superuser = user.is_staff = superuser
                user.save()
            user.groups.add(*Group.objects.filter(name__in=[r.value for r in roles]))
        return User.objects.get(username="admin")

    def _teams(self, admin) -> dict[str, Team]:
        teams = {}
        for name, description in TEAMS.items():
            team = Team.objects.filter(name=name).first()
            if team is None:
                members = [User.objects.get(username=u) for u, _r, t, _s in USERS if name in t]
                team = services.team_create(actor=admin, name=name, description=description, members=members)
            teams[name] = team
        return teams

    def _models(self, admin, teams) -> int:
        created = 0
        for (
            name,
            title,
            team,
            owner,
            task,
            framework,
            tier,
            visibility,
            n_versions,
            metric_names,
            description,
        ) in MODELS:
            if RegisteredModel.objects.filter(name=name).exists():
                continue
            owner_user = User.objects.get(username=owner)
            rng = random.Random(name)
            model = services.model_create(
                actor=admin,
                owner=owner_user,
                name=name,
                title=title,
                description=description,
                team=teams[team],
                task_type=task,
                framework=framework,
                visibility=visibility,
                intended_use=f"{title} within the approved business process, with human oversight.",
                limitations="Performance degrades on populations under-represented in training data; "
                "monitor drift monthly.",
                out_of_scope_uses="Any use outside the documented business process.",
                tags={"business_unit": team.split()[0].lower(), "cost_centre": str(rng.randint(1000, 9999))},
            )
            if tier != "unassessed":
                self._classify(model, tier)
            base = {m: rng.uniform(0.70, 0.85) for m in metric_names}
            for number in range(1, n_versions + 1):
                version = services.version_register(
                    actor=owner_user,
                    model=model,
                    description=f"Retrained on data up to 2026-{number * 2:02d}.",
                    source=f"git+https://git.example.org/ml/{name}@{rng.getrandbits(40):010x}",
                    run_id=f"{rng.getrandbits(64):016x}",
                    hyperparameters={
                        "learning_rate": round(rng.uniform(0.01, 0.2), 3),
                        "max_depth": rng.randint(3, 10),
                        "n_estimators": rng.choice([200, 400, 800]),
                    },
                    training_data=[f"s3://datalake/{name}/train/2026-{number * 2:02d}/"],
                    framework=framework,
                    framework_version={
                        "xgboost": "2.1.4",
                        "lightgbm": "4.6.0",
                        "scikit-learn": "1.7.2",
                        "pytorch": "2.13.0",
                        "transformers": "4.57.0",
                        "onnx": "1.19.0",
                    }.get(framework, ""),
                    metrics=[
                        {
                            "name": m,
                            "value": round(min(0.99, base[m] + 0.012 * number + rng.uniform(-0.01, 0.01)), 4),
                            "dataset": f"{name}-holdout",
                            "split": "test",
                        }
                        for m in metric_names
                    ],
                )
                self._govern(version, number, n_versions)
            created += 1
        return created

    def _committees(self, admin) -> None:
        """Demo committee members: two reviewers validate, the risk officer chairs Risk & Compliance."""
        for slug, usernames in COMMITTEE_MEMBERS.items():
            committee = Committee.objects.get(slug=slug)
            for username, role in usernames:
                if not committee.memberships.filter(user__username=username).exists():
                    governance_services.committee_member_set(
                        actor=admin, committee=committee, user=User.objects.get(username=username), role=role
                    )

    def _govern(self, version, number: int, total: int) -> None:
        """Walk each version through the real workflow: earlier versions were approved and served in
        production in turn (each promotion archives the one before); the latest waits in staging, and for
        some models its production request is open in the reviewers' queue."""
        owner = version.model.owner
        if total == 1:
            return
        self._add_config(version)
        version = governance_services.version_transition(actor=owner, version=version, stage=Stage.STAGING)
        route = gate.route(version, Stage.PRODUCTION)
        if not route.allowed:
            return  # unassessed or prohibited: staging is as far as it goes
        request = governance_services.approval_request_submit(
            actor=owner,
            version=version,
            target_stage=Stage.PRODUCTION,
            justification=f"v{number} retrained on fresh data; metrics improved on the holdout set.",
        )
        if number == total:
            return  # left open: something for the reviewers to do in the demo
        for committee in route.committees:
            members = [m.user for m in committee.memberships.select_related("user")]
            for voter in members[: max(committee.min_approvals, 1)]:
                governance_services.vote_cast(
                    actor=voter,
                    request=request,
                    committee=committee,
                    decision=VoteDecision.APPROVE,
                    comment="Validation report reviewed; no objection.",
                )
        governance_services.version_transition(
            actor=owner, version=version, stage=Stage.PRODUCTION, justification=f"Approved by request #{request.pk}"
        )

    def _add_config(self, version) -> None:
        """A small configuration file, validated at once: production approvals bind the digests of files
        Arbiter holds, and refuse a version without any."""
        data = json.dumps({"framework": version.framework, "hyperparameters": version.hyperparameters}, indent=2)
        artifact = services.artifact_upload(
            actor=version.model.owner,
            version=version,
            uploaded_file=SimpleUploadedFile("config.json", data.encode(), content_type="application/json"),
            filename="config.json",
            kind=ArtifactKind.CONFIG,
        )
        services.artifact_validate(artifact_id=artifact.pk)

    def _classify(self, model, tier: str) -> None:
        """The model's risk tier comes from an approved EU AI Act assessment, as in production: its owner
        answers the questionnaire, the risk officer approves. Credit scoring also gets its risk register."""
        governance_services.frameworks_load(actor=None)
        eu = governance_selectors.template_latest(key="eu-ai-act")
        answers = CLASSIFYING_ANSWERS.get(model.name) or TIER_ANSWERS[tier]
        assessor, risk = model.owner, User.objects.get(username="risk")
        assessment = governance_services.assessment_create(actor=assessor, model=model, template=eu)
        governance_services.assessment_answer(actor=assessor, assessment=assessment, answers=answers)
        governance_services.assessment_submit(actor=assessor, assessment=assessment)
        assessment = governance_services.assessment_approve(
            actor=risk, assessment=assessment, comment="Classification reviewed against the Act's criteria."
        )
        if model.name == "credit-scoring":
            self._risks(model, assessment, owner=model.owner, risk=risk)

    def _assessments(self) -> int:
        """Work in progress for the demo: a chatbot re-assessment waiting for the risk officer, a draft."""
        eu = governance_selectors.template_latest(key="eu-ai-act")
        created = 0
        for name, (assessor_name, answers, outcome) in DEMO_ASSESSMENTS.items():
            model = RegisteredModel.objects.filter(name=name).first()
            if model is None or Assessment.objects.filter(model=model, status__in=["draft", "submitted"]).exists():
                continue
            assessor = User.objects.get(username=assessor_name)
            assessment = governance_services.assessment_create(actor=assessor, model=model, template=eu)
            governance_services.assessment_answer(actor=assessor, assessment=assessment, answers=answers)
            created += 1
            if outcome == "submitted":
                governance_services.assessment_evidence_add(
                    actor=assessor,
                    assessment=assessment,
                    url=f"https://dms.example.org/legal/{name}-ai-act-opinion.pdf",
                    title="Legal opinion on the AI Act classification",
                    question_id="supporting_evidence",
                )
                governance_services.assessment_submit(actor=assessor, assessment=assessment)
        return created

    def _risks(self, model, assessment, *, owner, risk) -> None:
        today = timezone.localdate()
        for title, category, likelihood, impact, residual, questions, days, status, mitigation in DEMO_RISKS:
            governance_services.risk_create(
                actor=risk,
                model=model,
                title=title,
                category=category,
                likelihood=likelihood,
                impact=impact,
                residual_likelihood=residual[0] if residual else None,
                residual_impact=residual[1] if residual else None,
                owner=owner,
                due_date=today + timedelta(days=days),
                status=status,
                assessment=assessment,
                question_ids=questions,
                mitigation=mitigation,
            )


_EU_NOTHING_APPLIES = {
    "operator_role": "both",
    "eu_nexus": True,
    "excluded_purpose": False,
    **{f"art5_1_{letter}": False for letter in "abcdefgh"},
    "annex1_product": False,
    "annex3_applies": False,
    "art50_1_interaction": False,
    "art50_2_synthetic": False,
    "art50_3_emotion_biometric": False,
    "art50_4_deep_fake": False,
    "gpai_model": False,
}


def _high(purpose: str, points: list[str], oversight: str) -> dict:
    return {
        **_EU_NOTHING_APPLIES,
        "intended_purpose": purpose,
        "operator_role": "provider",
        "annex3_applies": True,
        "annex3_points": points,
        "art6_3_profiling": True,
        "human_oversight": oversight,
    }


# The answers that classify each demo model (the rest use TIER_ANSWERS for their tier).
CLASSIFYING_ANSWERS = {
    "credit-scoring": {
        **_EU_NOTHING_APPLIES,
        "intended_purpose": "Estimates the 12-month probability of default of retail loan applicants; the "
        "score decides approval and the credit limit, with underwriters reviewing declines.",
        "operator_role": "provider",
        "annex3_applies": True,
        "annex3_points": ["5b"],
        "art6_3_profiling": True,
        "human_oversight": "Underwriters review every decline and any application within 5 points of the "
        "cut-off; they can override the score with a recorded reason.",
    },
    "support-assistant": {
        **_EU_NOTHING_APPLIES,
        "intended_purpose": "Answers customers' account questions in the web chat, from our help centre.",
        "art50_1_interaction": True,
        "art50_2_synthetic": True,
        "art50_2_marking": True,
        "art50_disclosure": "The chat window says 'You are talking to an AI assistant' before the first "
        "message; answers carry a machine-readable provenance tag.",
    },
    "health-insurance-pricing": _high(
        "Risk premium for individual health cover, from the applicant's health questionnaire.",
        ["5c"],
        "Underwriters confirm every premium loading above 25%.",
    ),
    "cv-screening": _high(
        "Ranks job applications for recruiter review.",
        ["4a"],
        "Recruiters read every application; the ranking only orders the queue.",
    ),
    "chest-xray-triage": {
        **_EU_NOTHING_APPLIES,
        "intended_purpose": "Flags chest radiographs with suspected pneumothorax for priority reading.",
        "operator_role": "provider",
        "annex1_product": True,
        "annex1_legislation": "Regulation (EU) 2017/745 on medical devices (class IIa software)",
        "annex1_third_party": True,
        "human_oversight": "A radiologist reads every image; the flag only reorders the worklist.",
    },
}
TIER_ANSWERS = {
    "minimal": {**_EU_NOTHING_APPLIES, "intended_purpose": "Internal analytics; no decisions about people."},
    "limited": CLASSIFYING_ANSWERS["support-assistant"],
}

# Work in progress shown by the demo: model: (assessor, answers, outcome)
DEMO_ASSESSMENTS = {
    "support-assistant": (
        "admin",
        {**CLASSIFYING_ANSWERS["support-assistant"], "gpai_model": False},
        "submitted",
    ),
    "churn-prediction": (
        "owner",
        {"intended_purpose": "Monthly propensity to cancel, to prioritise retention offers.", "eu_nexus": True},
        "draft",
    ),
}

# title, category, likelihood, impact, residual (likelihood, impact), questions, due in days, status, mitigation
DEMO_RISKS = [
    (
        "Disparate impact on thin-file and young applicants",
        "fairness",
        4,
        4,
        (2, 4),
        ["annex3_points", "art6_3_profiling"],
        45,
        "mitigating",
        "Monthly fairness report by age band and file depth; manual underwriting for thin files.",
    ),
    (
        "Applicants cannot obtain an explanation of a decline",
        "transparency",
        3,
        4,
        None,
        ["art6_3_profiling"],
        -10,
        "open",
        "Reason codes from SHAP values in the decline letter.",
    ),
    (
        "Performance drift after the interest-rate change",
        "robustness",
        3,
        3,
        (2, 3),
        [],
        90,
        "open",
        "PSI monitoring per feature with a retraining trigger.",
    ),
]
