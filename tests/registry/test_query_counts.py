"""List pages and API lists cost a constant number of SQL queries, whatever the page size, including for a
user whose access comes from per-model grants on restricted models."""

import pytest
from django.test import Client
from guardian.shortcuts import get_perms

from registry import services
from registry.choices import Visibility
from registry.models import RegisteredModel
from registry.permissions import OWNER_ACTIONS, Action
from tests.factories import make_model, make_user, make_version

CATALOG_MAX_QUERIES = 12
API_MAX_QUERIES = 10


@pytest.fixture
def catalog(owner, outsider, team_beta):
    """120 models, a third restricted; the outsider is granted view on some restricted ones, directly or via
    their team."""
    for i in range(120):
        visibility = Visibility.RESTRICTED if i % 3 == 0 else Visibility.INTERNAL
        model = make_model(owner, name=f"model-{i:03d}", visibility=visibility, tags={"n": str(i)})
        if i % 10 == 0:
            make_version(owner, model)
        if i % 6 == 0:
            services.access_grant(actor=owner, model=model, grantee=outsider, actions=[Action.VIEW])
        elif i % 9 == 0:
            services.access_grant(actor=owner, model=model, grantee=team_beta.group, actions=[Action.VIEW])
    return outsider


@pytest.mark.parametrize("page_size", [10, 100])
def test_catalog_page_query_count_is_constant(catalog, django_assert_max_num_queries, page_size):
    client = Client()
    client.force_login(catalog)
    with django_assert_max_num_queries(CATALOG_MAX_QUERIES):
        response = client.get("/", {"page_size": page_size, "sort": "name"})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == page_size


@pytest.mark.parametrize("page_size", [10, 100])
def test_catalog_search_query_count_is_constant(catalog, django_assert_max_num_queries, page_size):
    client = Client()
    client.force_login(catalog)
    with django_assert_max_num_queries(CATALOG_MAX_QUERIES):
        response = client.get("/", {"page_size": page_size, "q": "model"})
    assert response.status_code == 200


@pytest.mark.parametrize("page_size", [10, 100])
def test_api_list_query_count_is_constant(catalog, api, django_assert_max_num_queries, page_size):
    api.force_login(catalog)
    with django_assert_max_num_queries(API_MAX_QUERIES):
        response = api.get("/api/v1/models/", {"page_size": page_size})
    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size


def test_outsider_sees_internal_plus_granted_restricted(catalog, api):
    api.force_login(catalog)
    count = api.get("/api/v1/models/").json()["count"]
    internal = 80
    granted_direct = len([i for i in range(0, 120, 3) if i % 6 == 0])
    granted_team = len([i for i in range(0, 120, 3) if i % 6 != 0 and i % 9 == 0])
    assert count == internal + granted_direct + granted_team


ADMIN_LIST_MAX_QUERIES = 10


@pytest.mark.parametrize("size", [2, 20])
def test_teams_and_service_accounts_pages_query_count_is_constant(administrator, django_assert_max_num_queries, size):
    for i in range(size):
        team = services.team_create(actor=administrator, name=f"Team {i:02d}")
        services.team_member_add(actor=administrator, team=team, user=make_user(f"member-{i:02d}"))
        services.service_account_create(actor=administrator, username=f"pipeline-{i:02d}", roles=["Model Owner"])
    client = Client()
    client.force_login(administrator)
    for url, listed in (("/teams/", b"member-01"), ("/service-accounts/", b"pipeline-01")):
        with django_assert_max_num_queries(ADMIN_LIST_MAX_QUERIES):
            response = client.get(url)
        assert response.status_code == 200 and listed in response.content


@pytest.mark.parametrize("grantees", [2, 20])
def test_access_list_query_count_is_constant(owner, api, django_assert_max_num_queries, grantees):
    model = make_model(owner, name="shared", visibility=Visibility.RESTRICTED)
    for i in range(grantees):
        services.access_grant(actor=owner, model=model, grantee=make_user(f"g{i:02d}"), actions=[Action.VIEW])
    api.force_login(owner)
    with django_assert_max_num_queries(API_MAX_QUERIES):
        response = api.get("/api/v1/models/shared/access/")
    assert len(response.json()) == grantees + 1
    browser = Client()
    browser.force_login(owner)
    with django_assert_max_num_queries(CATALOG_MAX_QUERIES):
        assert browser.get("/models/shared/access/").status_code == 200


MODEL_CREATE_MAX_QUERIES = 19


def test_model_creation_takes_a_fixed_number_of_queries_and_grants_the_owner_set(
    owner, team_alpha, api, django_assert_max_num_queries
):
    """Registering a model with a team over the API: the token, the caller's roles, the team, the name check,
    the insert, one query for the permissions, one insert per grant table and the audit event. The owner and
    the team each hold exactly the owner permission set on it."""
    _, secret = services.token_create(actor=owner, user=owner, name="ci", scopes=["read", "write"])
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    with django_assert_max_num_queries(MODEL_CREATE_MAX_QUERIES):
        response = api.post("/api/v1/models/", {"name": "fresh", "title": "Fresh", "team": team_alpha.slug})
    assert response.status_code == 201, response.content
    model = RegisteredModel.objects.get(name="fresh")
    owner_set = {action.value for action in OWNER_ACTIONS}
    assert set(get_perms(owner, model)) >= owner_set
    assert set(get_perms(team_alpha.group, model)) == owner_set
    assert services.direct_grants(model, owner) == owner_set
    assert services.direct_grants(model, team_alpha.group) == owner_set


@pytest.mark.postgres
@pytest.mark.parametrize(("matches", "exact"), [(2, True), (5, False)])
def test_search_counts_matches_once_and_caps_the_count(
    owner, api, monkeypatch, django_assert_num_queries, matches, exact
):
    """A search counts its matches (up to the cap) once: the ranking decision and the page count share it.
    Past the cap the count says "N+" and results are listed by name instead of ranked."""
    from registry.filters import ModelFilter
    from registry.pagination import CappedPaginator

    monkeypatch.setattr(ModelFilter, "relevance_limit", 3)
    monkeypatch.setattr(CappedPaginator, "count_cap", 3)
    for i in range(matches):
        make_model(owner, name=f"fraud-{i}", title=f"Fraud screening {i}")
    make_model(owner, name="churn", title="Churn")
    api.force_login(owner)
    api.get("/api/v1/models/", {"q": "fraud"})  # warm per-process caches
    with django_assert_num_queries(5):  # session, user, grants, the one count, the page
        body = api.get("/api/v1/models/", {"q": "fraud"}).json()
    assert body["count"] == min(matches, 3)
    assert body["count_is_exact"] is exact
    assert [m["name"] for m in body["results"]] == [f"fraud-{i}" for i in range(min(matches, 3))]  # by name
