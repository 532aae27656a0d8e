"""Risk-assessment lists cost the same number of SQL queries at 10 rows a page as at 100, including for a
user whose access to restricted models comes from per-model grants.

Volume rows are bulk-created (the services are exercised elsewhere); a few go through the services so that
permissions and grants are real.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance.choices import AssessmentStatus, EvidenceKind, RiskStatus
from governance.models import Assessment, AssessmentEvidence, Risk
from registry import services
from registry.choices import Visibility
from registry.permissions import Action
from tests.factories import make_model

PAGE_MAX_QUERIES = 16
API_MAX_QUERIES = 10
ROWS = 120


@pytest.fixture
def volume(owner, outsider, risk_officer, frameworks):
    """12 models (a third restricted, the outsider granted view on two of those), 120 assessments with evidence
    and 120 risks spread over them, plus 110 assessments and risks on one model."""
    template = frameworks["eu-ai-act"]
    models = []
    for i in range(12):
        visibility = Visibility.RESTRICTED if i % 3 == 0 else Visibility.INTERNAL
        model = make_model(owner, name=f"model-{i:02d}", visibility=visibility)
        if i in (0, 3):
            services.access_grant(actor=owner, model=model, grantee=outsider, actions=[Action.VIEW])
        models.append(model)
    busy = make_model(owner, name="busy")
    now, today = timezone.now(), timezone.localdate()
    targets = [models[i % 12] for i in range(ROWS)] + [busy] * 110
    assessments = Assessment.objects.bulk_create(
        Assessment(
            model=model,
            template=template,
            assessor=owner,
            contributors=[owner.pk],
            status=AssessmentStatus.SUBMITTED if i % 2 else AssessmentStatus.SUPERSEDED,
            answers={"eu_nexus": True},
            tier="minimal",
            explanation={"summary": "Minimal risk."},
            submitted_at=now - dt.timedelta(minutes=i),
            submitted_by=owner,
        )
        for i, model in enumerate(targets)
    )
    AssessmentEvidence.objects.bulk_create(
        AssessmentEvidence(
            assessment=a, kind=EvidenceKind.LINK, url="https://dms.example.org/x", title="x", added_by=owner
        )
        for a in assessments
    )
    Risk.objects.bulk_create(
        Risk(
            model=model,
            title=f"risk {i}",
            likelihood=1 + i % 5,
            impact=1 + (i // 5) % 5,
            inherent_rating=(1 + i % 5) * (1 + (i // 5) % 5),
            owner=owner,
            due_date=today + dt.timedelta(days=i - 20),
            status=RiskStatus.OPEN,
        )
        for i, model in enumerate(targets)
    )
    return {"owner": owner, "outsider": outsider, "risk_officer": risk_officer, "busy": busy}


def count_queries(client, url, params) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, response.content[:500]
    return len(queries), response


CASES = [
    # persona, url, cap, api
    ("outsider", "/governance/risks/", PAGE_MAX_QUERIES, False),
    ("risk_officer", "/governance/assessments/review/", PAGE_MAX_QUERIES, False),
    ("outsider", "/governance/models/busy/assessments/", PAGE_MAX_QUERIES, False),
    ("outsider", "/governance/models/busy/risks/", PAGE_MAX_QUERIES, False),
    ("outsider", "/api/v1/assessments/", API_MAX_QUERIES, True),
    ("outsider", "/api/v1/models/busy/assessments/", API_MAX_QUERIES, True),
    ("outsider", "/api/v1/risks/", API_MAX_QUERIES, True),
    ("outsider", "/api/v1/models/busy/risks/", API_MAX_QUERIES, True),
    ("outsider", "/api/v1/assessment-templates/", API_MAX_QUERIES, True),
]


@pytest.mark.parametrize(("persona", "url", "cap", "api"), CASES, ids=[c[1] for c in CASES])
def test_list_query_count_does_not_grow_with_page_size(volume, persona, url, cap, api):
    client = Client()
    client.force_login(volume[persona])
    counts = {}
    for size in (10, 100):
        counts[size], response = count_queries(client, url, {"page_size": size, "status": "all"})
        if api and "templates" not in url:
            assert len(response.json()["results"]) == size
    assert counts[10] == counts[100], f"{url}: {counts[10]} queries at 10 rows, {counts[100]} at 100"
    assert counts[100] <= cap, f"{url}: {counts[100]} queries (cap {cap})"


def test_outsider_sees_only_internal_and_granted_risks(volume):
    client = Client()
    client.force_login(volume["outsider"])
    count = client.get("/api/v1/risks/", {"status": "all"}).json()["count"]
    # 8 internal of the 12 models, plus 2 granted, 10 risks each; plus the busy (internal) model's 110.
    assert count == 10 * 10 + 110
