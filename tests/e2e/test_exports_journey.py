"""An auditor downloads spreadsheets from the pages: the inventory from the catalog's Export button and the
audit trail after someone tried to sign in as a formula. Neither runs in a spreadsheet (issue 22 item 1,
issue 14 item 16)."""

import csv
import io

import pytest

from registry.permissions import Role
from tests.factories import PASSWORD, make_model, make_user

pytestmark = pytest.mark.browser

FORMULA = '=HYPERLINK("http://127.0.0.1:9/x","click")'


def _cells(path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as handle:
        return [cell for row in csv.reader(io.StringIO(handle.read())) for cell in row]


def test_an_auditor_exports_spreadsheets_that_run_nothing(transactional_db, browser_session):
    owner = make_user("owner", roles=[Role.MODEL_OWNER])
    make_user("auditor", roles=[Role.AUDITOR])
    make_model(owner, name="churn", title=FORMULA)

    visitor = browser_session()
    visitor.page.goto("/accounts/login/")
    visitor.page.get_by_label("Username").fill(FORMULA)
    visitor.page.get_by_label("Password").fill("guess")
    visitor.page.get_by_role("button", name="Sign in").click()

    session = browser_session()
    page = session.page
    session.login("auditor", PASSWORD)
    page.goto("/")
    with page.expect_download() as inventory:
        page.get_by_role("link", name="Export inventory (CSV)").click()
    cells = _cells(inventory.value.path())
    assert "churn" in cells and "'" + FORMULA in cells and FORMULA not in cells

    page.goto("/governance/audit/?action=login.failed")
    with page.expect_download() as trail:
        page.get_by_role("link", name="Export CSV").click()
    cells = _cells(trail.value.path())
    assert "'" + FORMULA in cells and FORMULA not in cells
    assert session.errors == []
