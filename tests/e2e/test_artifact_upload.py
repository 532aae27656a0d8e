"""A model owner uploads a file in the browser, watches the progress bar, and sees the worker's verdict
appear without reloading the page."""

import pytest
from playwright.sync_api import expect

from tests.artifact_files import safetensors_bytes
from tests.factories import PASSWORD, make_model, make_version

pytestmark = pytest.mark.browser


def test_owner_uploads_a_file_and_sees_it_validated(celery_worker, browser_session, owner, tmp_path):
    model = make_model(owner, name="fraud-detection", title="Card fraud detection")
    make_version(owner, model, description="First release candidate.")
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(safetensors_bytes({"w": ("F32", [512, 512])}, fill=b"\x03"))
    config = tmp_path / "config.json"
    config.write_text('{"architecture": "gbdt", "n_estimators": 400}')

    session = browser_session()
    page = session.page
    session.login("owner", PASSWORD)
    page.goto("/models/fraud-detection/versions/1/")
    expect(page.get_by_role("heading", name="No files yet")).to_be_visible()

    for path, kind in ((weights, "weights"), (config, "config")):
        page.locator("#id_file").set_input_files(str(path))
        page.get_by_label("Kind").select_option(kind)
        page.get_by_role("button", name="Upload").click()
        expect(page.locator(f"tr[data-artifact='{path.name}']")).to_be_visible()
        expect(page.locator(".progress-bar")).to_have_attribute("data-progress", "100")

    for name in ("model.safetensors", "config.json"):
        row = page.locator(f"tr[data-artifact='{name}']")
        expect(row.locator("[data-artifact-status]")).to_have_attribute("data-artifact-status", "valid", timeout=30000)
    assert "computing" not in page.locator("#artifacts").inner_text()
    session.screenshot("artifacts")
    assert session.errors == [], session.errors
