"""The demo users: README's table, the sign-in page's hint and `seed_demo` agree, and the documented users can
take a model of every tier through its committees (issue 14.3)."""

import re
from pathlib import Path

import pytest
from django.test import Client

from governance.defaults import POLICIES
from governance.management.commands.seed_demo import COMMITTEE_MEMBERS, MODELS, USERS, demo_accounts
from governance.models import Committee
from governance.quorum import Outcome, QuorumRule, evaluate
from tests.factories import make_user

README = Path(__file__).resolve().parent.parent.parent / "README.md"
ROW = re.compile(r"^\| `([^`]+)` \| (.*) \| (.*) \| (.*) \|$")


def _readme_users() -> dict[str, tuple[str, str, str]]:
    section = README.read_text().split("### Demo users", 1)[1].split("\n#", 1)[0]
    return {m.group(1): m.group(2, 3, 4) for line in section.splitlines() if (m := ROW.match(line))}


def _listed(items: list[str]) -> str:
    return ", ".join(items) or "—"


def test_readme_lists_every_demo_user_with_role_teams_and_committees():
    documented = _readme_users()
    seeded = {
        a["username"]: (_listed(a["roles"]), _listed(a["teams"]), _listed(a["committees"])) for a in demo_accounts()
    }
    assert documented == seeded
    assert set(documented) == {username for username, *_ in USERS}


@pytest.mark.django_db
@pytest.mark.parametrize("slug", sorted({slug for (_s, _t), (_a, slugs, *_r) in POLICIES.items() for slug in slugs}))
def test_documented_users_who_are_not_authors_reach_each_committee_s_quorum(slug):
    """Owners and their teams cannot vote on their own models: the documented members left must still carry the
    committee's quorum on their own."""
    authors = {model[3] for model in MODELS}  # (name, title, team, owner, ...)
    authors |= {username for username, _roles, teams, _superuser in USERS if teams}
    documented = _readme_users()
    eligible = [u for u, _role in COMMITTEE_MEMBERS.get(slug, []) if u in documented and u not in authors]
    committee = Committee.objects.get(slug=slug)
    tally = evaluate(
        QuorumRule(committee.quorum_rule),
        eligible=len(eligible),
        approvals=len(eligible),
        rejections=0,
        min_approvals=committee.min_approvals,
        fraction=committee.approval_fraction,
        veto=committee.veto_on_reject,
    )
    assert tally.outcome == Outcome.APPROVED, f"{committee.name}: {tally.reason} with {eligible}"


def _sign_in_page() -> str:
    return Client().get("/accounts/login/").content.decode()


def test_the_sign_in_page_lists_the_demo_users_once_seeded(db, settings):
    assert 'id="demo-accounts"' not in _sign_in_page(), "no hint before seed_demo made the users"
    for account in demo_accounts():
        make_user(account["username"])
    page = _sign_in_page()
    hint = page.split('id="demo-accounts"', 1)[1].split("</details>", 1)[0]
    for account in demo_accounts():
        assert f"<code>{account['username']}</code>" in hint
    assert "Model Review Committee (member)" in hint and "Risk &amp; Compliance Committee (chair)" in hint
    assert "<code>arbiter-demo</code>" in hint
    settings.DEVELOPMENT = False
    assert 'id="demo-accounts"' not in _sign_in_page(), "never in production"
