"""`manage.py seed_demo`: demo users, teams and a dozen realistic models. Safe to run again (idempotent).

Everything is created through the services, so the demo's audit trail is real and verifies.
"""

from __future__ import annotations

import os
import random

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test import override_settings

from governance import gate
from governance import services as governance_services
from governance.models import Committee
from registry import services
from registry.choices import Stage, Visibility
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
    "peer-review": [("reviewer2", "member"), ("reviewer", "member")],
    "model-review-committee": [("reviewer", "chair"), ("reviewer2", "member")],
    "risk-compliance-committee": [("risk", "chair")],
}

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
        "limited",
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
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({created} models created)."))
        shown = "the DEMO_PASSWORD you set" if "DEMO_PASSWORD" in os.environ else f"'{password}'"
        self.stdout.write(f"Sign in as admin, owner, reviewer, risk, auditor or viewer with password {shown}.")

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
                services.model_risk_tier_set(actor=None, model=model, tier=tier, reason="demo data")
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
                    decision="approve",
                    comment="Validation report reviewed; no objection.",
                )
        governance_services.version_transition(
            actor=owner, version=version, stage=Stage.PRODUCTION, justification=f"Approved by request #{request.pk}"
        )
