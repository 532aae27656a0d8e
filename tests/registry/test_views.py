"""The browser pages: what a person sees and what happens when they submit a form."""

import pytest
from django.test import Client

from governance.models import AuditEvent
from registry import services
from registry.choices import Stage, Visibility
from registry.models import RegisteredModel
from tests.factories import make_model, make_version


@pytest.fixture
def browser(owner):
    client = Client()
    client.force_login(owner)
    return client


def test_pages_require_sign_in(client, owner):
    make_model(owner, name="m")
    for url in ("/", "/models/m/", "/models/new/", "/account/tokens/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_catalog_lists_searches_and_shows_empty_states(browser, owner):
    empty = browser.get("/")
    assert b"No models yet" in empty.content and b"Register a model" in empty.content
    make_model(owner, name="credit-scoring", title="Retail credit scoring")
    make_model(owner, name="churn", title="Churn propensity")
    page = browser.get("/", {"q": "credit"})
    assert b"Retail credit scoring" in page.content and b"Churn propensity" not in page.content
    none = browser.get("/", {"q": "zebra"})
    assert b"No models match" in none.content


def test_catalog_htmx_request_returns_only_the_results(browser, owner):
    make_model(owner, name="credit-scoring", title="Retail credit scoring")
    partial = browser.get("/", {"q": "credit"}, headers={"HX-Request": "true"})
    assert b"Retail credit scoring" in partial.content
    assert b"<html" not in partial.content


def test_register_model_form_shows_errors_next_to_fields(browser):
    response = browser.post(
        "/models/new/",
        {
            "name": "bad/name",
            "title": "",
            "task_type": "classification",
            "framework": "pytorch",
            "visibility": "internal",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "name" in form.errors and "title" in form.errors
    assert b'aria-invalid="true"' in response.content
    assert not RegisteredModel.objects.exists()


def test_register_model_form_creates_and_redirects(browser, team_alpha):
    response = browser.post(
        "/models/new/",
        {
            "name": "churn",
            "title": "Churn",
            "task_type": "classification",
            "framework": "pytorch",
            "visibility": "internal",
            "team": team_alpha.pk,
            "tags": "unit=retail\ntier=gold",
            "description": "Predicts **churn**.",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/models/churn/"
    model = RegisteredModel.objects.get(name="churn")
    assert model.tags == {"unit": "retail", "tier": "gold"} and model.team == team_alpha
    page = browser.get("/models/churn/")
    assert b"<strong>churn</strong>" in page.content


def test_duplicate_name_error_lands_on_the_name_field(browser, owner):
    make_model(owner, name="churn")
    response = browser.post(
        "/models/new/",
        {
            "name": "CHURN",
            "title": "Again",
            "task_type": "classification",
            "framework": "pytorch",
            "visibility": "internal",
        },
    )
    assert "name" in response.context["form"].errors


def test_description_markdown_is_sanitised(browser, owner):
    make_model(owner, name="xss", description="Hi <script>alert(1)</script> [x](javascript:alert(1)) <b>bold</b>")
    page = browser.get("/models/xss/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert 'href="javascript:' not in page  # the unsafe link stays text: "[x](javascript:alert(1))"
    assert "&lt;script&gt;" in page or "alert(1)" not in page.split("rendered-markdown")[1][:200]


def test_version_pages_and_forms(browser, owner):
    model = make_model(owner, name="m")
    response = browser.post(
        "/models/m/versions/new/",
        {
            "description": "first",
            "hyperparameters": '{"lr": 0.1}',
            "metrics": "auc, 0.91, holdout, test",
            "training_data": "s3://b/train/",
            "tags": "",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/models/m/versions/1/"
    page = browser.get("/models/m/versions/1/")
    assert b"0.91" in page.content and b"s3://b/train/" in page.content and b"lr" in page.content
    bad = browser.post("/models/m/versions/new/", {"hyperparameters": "[1, 2]", "metrics": "auc, high"})
    assert "hyperparameters" in bad.context["form"].errors and "metrics" in bad.context["form"].errors
    assert model.versions.count() == 1


def test_frozen_version_edit_form_only_changes_description_and_tags(browser, owner):
    model = make_model(owner, name="m")
    version = make_version(owner, model, description="original", source="git+https://x/y@1")
    services.version_stage_apply(actor=owner, version=version, stage=Stage.STAGING)
    response = browser.post(
        "/models/m/versions/1/edit/", {"description": "changed", "tags": "region=eu", "source": "s3://elsewhere/"}
    )
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.description == "changed" and version.tags == {"region": "eu"}
    assert version.source == "git+https://x/y@1", "governed fields are disabled once frozen"


def test_stage_change_from_the_version_page(browser, owner):
    make_version(owner, make_model(owner, name="m"))
    response = browser.post(
        "/models/m/versions/1/transition/", {"stage": "staging", "justification": "QA"}, follow=True
    )
    assert b"moved to staging" in response.content
    illegal = browser.post("/models/m/versions/1/transition/", {"stage": "development"}, follow=True)
    assert b"cannot return to development" in illegal.content


def test_restricted_model_page_is_404_for_outsider(owner, outsider):
    make_model(owner, name="secret", visibility=Visibility.RESTRICTED)
    client = Client()
    client.force_login(outsider)
    assert client.get("/models/secret/").status_code == 404
    assert client.get("/models/secret/versions/1/").status_code == 404
    assert b"secret" not in client.get("/").content


def test_outsider_gets_403_with_message_on_edit_of_visible_model(owner, outsider):
    make_model(owner, name="shared")
    client = Client()
    client.force_login(outsider)
    response = client.get("/models/shared/edit/")
    assert response.status_code == 403
    assert b"permission to change this model" in response.content


def test_token_page_shows_secret_once_and_stores_only_hash(browser, owner):
    response = browser.post("/account/tokens/", {"name": "ci", "scopes": ["read", "write"], "expires_days": 30})
    secret = response.context["new_secret"]
    assert secret.startswith("arb_") and secret.encode() in response.content
    again = browser.get("/account/tokens/")
    assert secret.encode() not in again.content
    token = owner.api_tokens.get()
    assert secret not in (token.token_hash, token.prefix)
    assert AuditEvent.objects.filter(action="token.created").exists()
