"""Exports a governance team asks for (issue 14, item 16): the model inventory, the risk register and approval
records with votes, as CSV and JSON, from the pages that list them and the API; restricted to what the user
may see, recorded once each in the audit trail, streamed, and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.http import StreamingHttpResponse
from django.test import Client

from governance import services
from governance.models import AuditEvent
from registry import services as registry_services
from registry.choices import RiskTier, Stage, Visibility
from tests.conftest import bearer
from tests.factories import make_model, make_version

FORMULA_TITLE = '=HYPERLINK("http://127.0.0.1:9/x","click")'


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _download(client, kind: str, output: str, *, api: bool = False):
    url = f"/api/v1/exports/{kind}/" if api else f"/governance/exports/{kind}/"
    response = client.get(url, {"output": output})
    assert response.status_code == 200, response
    assert isinstance(response, StreamingHttpResponse), "exports stream"
    assert response["Content-Disposition"].startswith(f'attachment; filename="arbiter-{kind}-')
    return b"".join(response.streaming_content).decode()


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def hidden(owner, team_alpha):
    """A restricted model of team Alpha, with a risk: the outsider must not find either in an export."""
    model = make_model(owner, name="alpha-secret", visibility=Visibility.RESTRICTED, team=team_alpha)
    services.risk_create(actor=owner, model=model, title="Secret risk", likelihood=2, impact=3, owner=owner)
    return model


def test_the_inventory_carries_owner_tier_production_version_and_assessment_state(
    owner, outsider, model, staged, hidden
):
    make_model(owner, name="plain", title=FORMULA_TITLE)
    text = _download(_browser(owner), "inventory", "csv")
    rows = {row["name"]: row for row in _csv(text)}
    assert set(rows) == {"alpha-secret", "credit-scoring", "plain"}
    credit = rows["credit-scoring"]
    assert credit["owner"] == "owner" and credit["team"] == "Alpha" and credit["risk_tier"] == RiskTier.HIGH
    assert credit["latest_version"] == "1" and credit["latest_stage"] == Stage.STAGING
    assert credit["assessment_status"] == "approved" and credit["assessment_valid_until"]
    assert rows["plain"]["title"] == "'" + FORMULA_TITLE, "a formula is neutralised in the spreadsheet export"
    outsiders = {row["name"] for row in _csv(_download(_browser(outsider), "inventory", "csv"))}
    assert outsiders == {"credit-scoring", "plain"}, "a restricted model stays hidden"


def test_the_json_inventory_keeps_values_as_they_are(owner, model, staged):
    model.production_version = 1
    model.save(update_fields=["production_version"])
    records = json.loads(_download(_browser(owner), "inventory", "json"))
    assert records[0]["name"] == "credit-scoring" and records[0]["production_version"] == 1
    make_model(owner, name="plain", title=FORMULA_TITLE)
    records = json.loads(_download(_browser(owner), "inventory", "json"))
    assert [r["title"] for r in records if r["name"] == "plain"] == [FORMULA_TITLE]


def test_the_risk_register_is_restricted_and_neutralised(owner, outsider, risk_officer, model, hidden):
    services.risk_create(
        actor=owner, model=model, title="@SUM(1+1)*cmd|' /C calc'!A0", likelihood=4, impact=5, owner=owner
    )
    rows = _csv(_download(_browser(risk_officer), "risks", "csv"))
    assert {row["title"] for row in rows} == {"'@SUM(1+1)*cmd|' /C calc'!A0", "Secret risk"}
    assert {row["model"] for row in rows} == {"credit-scoring", "alpha-secret"}
    visible = json.loads(_download(_browser(outsider), "risks", "json"))
    assert [(r["model"], r["inherent_rating"]) for r in visible] == [("credit-scoring", 20)]


def test_approval_records_carry_their_votes(owner, staged, reviewers, committees, outsider):
    request = services.approval_request_submit(
        actor=owner, version=staged, target_stage=Stage.PRODUCTION, justification="-1 bugs; ready."
    )
    services.vote_cast(actor=reviewers[0], request=request, committee=committees["mrc"], decision="approve")
    services.vote_cast(
        actor=reviewers[1],
        request=request,
        committee=committees["mrc"],
        decision="request_changes",
        comment="+ add the holdout metrics",
    )
    rows = _csv(_download(_browser(owner), "approvals", "csv"))
    assert [(row["vote_voter"], row["vote_decision"]) for row in rows] == [
        ("rev1", "approve"),
        ("rev2", "request_changes"),
    ]
    assert rows[0]["model"] == "credit-scoring" and rows[0]["version"] == "1"
    assert rows[0]["justification"] == "'-1 bugs; ready." and rows[1]["vote_comment"] == "'+ add the holdout metrics"
    records = json.loads(_download(_browser(owner), "approvals", "json"))
    assert len(records) == 1 and [vote["voter"] for vote in records[0]["votes"]] == ["rev1", "rev2"]
    registry_services.model_update(actor=owner, model=staged.model, data={"visibility": Visibility.RESTRICTED})
    assert json.loads(_download(_browser(outsider), "approvals", "json")) == []


def test_each_export_is_recorded_once(owner, auditor, model):
    for kind in ("inventory", "risks", "approvals"):
        _download(_browser(auditor), kind, "csv")
    events = AuditEvent.objects.filter(action__endswith=".exported").order_by("seq")
    assert [(e.action, e.actor_label, e.changes) for e in events] == [
        ("inventory.exported", "auditor", {"format": "csv"}),
        ("risks.exported", "auditor", {"format": "csv"}),
        ("approvals.exported", "auditor", {"format": "csv"}),
    ]


def test_the_api_exports_with_a_read_token_and_refuses_unknown_formats_and_kinds(owner, model, api):
    _, secret = registry_services.token_create(actor=owner, user=owner, name="ci", scopes=["read"])
    api.credentials(**bearer(secret))
    assert [r["name"] for r in json.loads(_download(api, "inventory", "json", api=True))] == ["credit-scoring"]
    refused = api.get("/api/v1/exports/inventory/", {"output": "xlsx"})
    assert refused.status_code == 400 and refused.json()["error"]["fields"] == {"output": ["csv or json"]}
    assert api.get("/api/v1/exports/secrets/", {"output": "csv"}).status_code == 404
    assert AuditEvent.objects.filter(action="inventory.exported").count() == 1


@pytest.mark.parametrize("count", [1, 8])
def test_exports_read_a_constant_number_of_queries(
    owner, model, reviewers, committees, artifact_storage, django_assert_max_num_queries, count
):
    for i in range(count):
        other = make_model(owner, name=f"m{i}")
        services.risk_create(actor=owner, model=other, title=f"r{i}", likelihood=1, impact=1, owner=owner)
        version = make_version(owner, model, files=True, training_data=["s3://lake/credit/"])
        version = services.version_transition(actor=owner, version=version, stage=Stage.STAGING)
        request = services.approval_request_submit(
            actor=owner, version=version, target_stage=Stage.PRODUCTION, justification="Ready."
        )
        services.vote_cast(actor=reviewers[0], request=request, committee=committees["mrc"], decision="approve")
    client = _browser(owner)
    for kind in ("inventory", "risks", "approvals"):
        # The same for 1 and for 8 rows: session, user, grants, the audit event, the rows (and the votes).
        with django_assert_max_num_queries(11) as captured:
            _download(client, kind, "csv")
        cursors = [q["sql"] for q in captured.captured_queries if (q["sql"] or "").startswith("DECLARE")]
        assert len(cursors) == 1, "the rows are read through one server-side cursor"
