"""The audit trail as an auditor relies on it: append-only in the database, every tampering named by its
sequence number, checkpoints outside the database, the API and streaming exports (verifiable offline with
the standalone script), sign-in events, and the History tabs."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from governance import checkpoints, tasks
from governance.audit import GENESIS_HASH, audit_verify, compute_hash, event_fields
from governance.models import AuditEvent, AuditVerification
from registry import services
from tests.conftest import bearer
from tests.factories import PASSWORD, make_model, make_version

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "verify_audit_export.py"


@pytest.fixture
def trail(owner):
    """A model with three versions: a dozen events or so."""
    model = make_model(owner, name="fraud-detector")
    for _ in range(3):
        make_version(owner, model)
    return model


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _without_row_trigger():
    _sql("ALTER TABLE governance_auditevent DISABLE TRIGGER audit_no_update_delete")


def _verify_fails_at(seq: int, reason: str) -> str:
    with pytest.raises(CommandError) as caught:
        call_command("audit", "verify")
    message = str(caught.value)
    assert message.startswith(f"BROKEN at #{seq}:"), message
    assert reason in message, message
    return message


# --- Append-only in the database ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE governance_auditevent SET actor_label = 'mallory' WHERE seq = 1",
        "DELETE FROM governance_auditevent WHERE seq = 1",
        "TRUNCATE governance_auditevent",
    ],
)
def test_raw_sql_update_delete_and_truncate_are_refused(postgres, trail, statement):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _sql(statement)
    assert AuditEvent.objects.filter(seq=1, actor_label="owner").exists() or AuditEvent.objects.filter(seq=1).exists()
    assert audit_verify().ok


def test_a_failed_change_leaves_no_event(db, owner):
    model = make_model(owner, name="rolled-back")
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.model_update(actor=owner, model=model, data={"description": "changed"})
        raise RuntimeError("the request failed after the service ran")
    assert AuditEvent.objects.count() == before
    model.refresh_from_db()
    assert model.description != "changed"


# --- Tampering: verify names the exact sequence number ----------------------------------------------------------


@pytest.mark.tampers_audit
def test_verify_names_an_edited_event(postgres, trail):
    call_command("audit", "verify")  # intact first
    _without_row_trigger()
    _sql('UPDATE governance_auditevent SET changes = \'{"stage": "production"}\' WHERE seq = 5')
    _verify_fails_at(5, "hash mismatch")
    assert AuditVerification.objects.latest("ran_at").broken_seq == 5


@pytest.mark.tampers_audit
def test_verify_names_a_deleted_event(postgres, trail):
    _without_row_trigger()
    _sql("DELETE FROM governance_auditevent WHERE seq = 4")
    _verify_fails_at(4, "gap")


@pytest.mark.tampers_audit
def test_verify_names_two_reordered_events(postgres, trail):
    _without_row_trigger()
    _sql("UPDATE governance_auditevent SET seq = -1 WHERE seq = 3")
    _sql("UPDATE governance_auditevent SET seq = 3 WHERE seq = 4")
    _sql("UPDATE governance_auditevent SET seq = 4 WHERE seq = -1")
    _verify_fails_at(3, "reordered: the event stored here was recorded as #4")


@pytest.mark.tampers_audit
def test_verify_from_a_later_point_skips_earlier_tampering(postgres, trail):
    _without_row_trigger()
    _sql("UPDATE governance_auditevent SET actor_label = 'mallory' WHERE seq = 2")
    last = AuditEvent.objects.order_by("-seq").first().seq
    out = _call("audit", "verify", "--from", "3")
    assert f"to #{last}" in out
    _verify_fails_at(2, "hash mismatch")


def _call(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- Checkpoints ------------------------------------------------------------------------------------------------


def test_checkpoint_records_the_head_signed_and_is_never_rewritten(postgres, trail, artifact_storage, settings):
    head = AuditEvent.objects.order_by("-seq").first()
    out = _call("audit", "checkpoint")
    path = artifact_storage / "audit-checkpoints" / f"{head.seq:012d}.json"
    assert str(head.seq) in out and path.is_file()
    stored = json.loads(path.read_text())
    assert stored["seq"] == head.seq and stored["hash"] == head.hash
    assert stored["hmac"] == checkpoints.sign({"seq": head.seq, "hash": head.hash, "time": stored["time"]})
    assert "nothing written" in _call("audit", "checkpoint")  # no new event: no second file
    assert len(list(path.parent.iterdir())) == 1

    # A key that already holds something else is never overwritten.
    make_version(trail.owner, trail)
    new_head = AuditEvent.objects.order_by("-seq").first()
    taken = path.parent / f"{new_head.seq:012d}.json"
    taken.write_text("{}")
    with pytest.raises(CommandError, match="refusing to overwrite"):
        call_command("audit", "checkpoint")
    assert taken.read_text() == "{}"
    assert len(list(path.parent.iterdir())) == 2


def test_checkpoints_are_refused_without_a_key(postgres, trail, artifact_storage, settings):
    settings.AUDIT_HMAC_KEY = ""
    with pytest.raises(CommandError, match="AUDIT_HMAC_KEY is not set"):
        call_command("audit", "checkpoint")
    assert not (artifact_storage / "audit-checkpoints").exists()


@pytest.mark.tampers_audit
def test_a_rewritten_chain_no_longer_matches_an_earlier_checkpoint(postgres, trail, artifact_storage):
    checkpoint = checkpoints.checkpoint_write()
    make_version(trail.owner, trail)
    _call("audit", "verify")
    # A superuser edits event #3 and recomputes every hash after it: the chain alone verifies again...
    _without_row_trigger()
    _sql("UPDATE governance_auditevent SET actor_label = 'mallory' WHERE seq = 3")
    prev = AuditEvent.objects.get(seq=2).hash
    for event in AuditEvent.objects.filter(seq__gte=3).order_by("seq"):
        fields = {**event_fields(event), "prev_hash": prev}
        prev = compute_hash(fields)
        _sql(
            "UPDATE governance_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s",
            [fields["prev_hash"], prev, event.seq],
        )
    assert audit_verify().ok
    # ...but not against the checkpoint taken before the rewrite.
    _verify_fails_at(checkpoint.seq, "the chain was rewritten")


@pytest.mark.tampers_audit
def test_a_forged_checkpoint_and_a_truncated_chain_are_reported(postgres, trail, artifact_storage):
    checkpoint = checkpoints.checkpoint_write()
    path = artifact_storage / checkpoint.key
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "hash": "f" * 64}))
    _verify_fails_at(checkpoint.seq, "invalid HMAC")
    path.write_text(json.dumps(data))
    _without_row_trigger()
    _sql("DELETE FROM governance_auditevent WHERE seq = %s", [checkpoint.seq])
    _verify_fails_at(checkpoint.seq, "events were removed from the end")


def test_the_periodic_tasks_checkpoint_and_store_the_verification(postgres, trail, artifact_storage, auditor):
    assert tasks.audit_checkpoint() == AuditEvent.objects.order_by("-seq").first().seq
    assert tasks.audit_verify() is True
    run = AuditVerification.objects.get()
    assert run.ok and run.checkpoints == 1 and run.last_seq == run.checked
    client = Client()
    client.force_login(auditor)
    page = client.get(reverse("governance:audit-log")).content.decode()
    assert f"Chain verified up to #{run.last_seq}" in page


def test_the_auditor_view_shows_a_broken_chain_prominently(db, trail, auditor):
    AuditVerification.objects.create(ok=False, checked=4, last_seq=4, broken_seq=5, reason="hash mismatch: altered")
    client = Client()
    client.force_login(auditor)
    page = client.get(reverse("governance:audit-log")).content.decode()
    assert 'role="alert"' in page and "The audit chain is broken at #5." in page


def test_beat_runs_checkpoints_and_verification(settings):
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"governance.tasks.audit_checkpoint", "governance.tasks.audit_verify"} <= tasks_scheduled


# --- API and exports ------------------------------------------------------------------------------------------


def test_api_lists_events_with_hashes_filters_and_cursor_pages(db, trail, api, auditor, owner):
    api.force_login(auditor)
    url = reverse("governance_api:audit-event-list")
    page = api.get(url, {"page_size": 2}).json()
    assert len(page["results"]) == 2 and page["next"]
    first = page["results"][0]
    assert first["seq"] > page["results"][1]["seq"]
    stored = AuditEvent.objects.get(seq=first["seq"])
    assert first["hash"] == stored.hash and first["prev_hash"] == stored.prev_hash
    following = api.get(page["next"]).json()["results"]
    assert following[0]["seq"] == page["results"][1]["seq"] - 1

    versions = api.get(url, {"action": "version.created", "model": "fraud-detector"}).json()["results"]
    assert [e["action"] for e in versions] == ["version.created"] * 3
    assert api.get(url, {"action": "version."}).json()["results"]
    assert api.get(url, {"actor": "nobody-here"}).json()["results"] == []
    target = api.get(url, {"target_type": "model", "target_id": str(trail.pk)}).json()["results"]
    assert target and all(e["target_id"] == str(trail.pk) for e in target)
    assert api.get(url, {"since": "2999-01-01T00:00:00Z"}).json()["results"] == []


def test_api_list_is_closed_to_everyone_but_auditors_and_administrators(db, trail, api, owner, administrator):
    url = reverse("governance_api:audit-event-list")
    api.force_login(owner)
    response = api.get(url)
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    api.force_login(administrator)
    assert api.get(url).status_code == 200


def test_api_list_has_a_constant_query_count(db, trail, api, auditor, django_assert_max_num_queries):
    for _ in range(10):
        make_version(trail.owner, trail)
    api.force_login(auditor)
    url = reverse("governance_api:audit-event-list")
    api.get(url)
    with django_assert_max_num_queries(8):
        assert len(api.get(url, {"page_size": 100}).json()["results"]) > 10


def test_audit_page_filters_with_htmx_and_has_a_constant_query_count(db, trail, auditor, django_assert_max_num_queries):
    client = Client()
    client.force_login(auditor)
    url = reverse("governance:audit-log")
    client.get(url)
    with django_assert_max_num_queries(12):
        fragment = client.get(url, {"q": "version.created"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and "version.created" in fragment and "model.created" not in fragment
    assert "output=csv&amp;q=version.created" in fragment


def test_export_streams_jsonl_records_the_export_and_verifies_offline(db, trail, auditor, tmp_path):
    client = Client()
    client.force_login(auditor)
    head = AuditEvent.objects.order_by("-seq").first().seq
    response = client.get(reverse("governance:audit-export"), {"output": "jsonl"})
    assert response.status_code == 200 and response.streaming
    body = b"".join(response.streaming_content)
    lines = body.decode().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, head + 1))
    assert json.loads(lines[0])["prev_hash"] == GENESIS_HASH
    exported = AuditEvent.objects.get(action="audit.exported")
    assert exported.actor_label == "auditor" and exported.changes["format"] == "jsonl"
    assert exported.changes["last"] == head and exported.seq == head + 1

    export = tmp_path / "export.jsonl"
    export.write_bytes(body)
    ok = subprocess.run([sys.executable, str(SCRIPT), str(export)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and ok.stdout.startswith(f"OK: {head} events verified"), ok.stdout

    tampered = [json.loads(line) for line in lines]
    tampered[2]["actor_label"] = "mallory"
    export.write_text("".join(json.dumps(event) + "\n" for event in tampered))
    bad = subprocess.run([sys.executable, str(SCRIPT), str(export)], capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and bad.stdout.startswith("BROKEN at #3: hash mismatch"), bad.stdout

    del tampered[2]
    tampered[2]["actor_label"] = "owner"
    export.write_text("".join(json.dumps(event) + "\n" for event in tampered))
    gap = subprocess.run([sys.executable, str(SCRIPT), str(export)], capture_output=True, text=True, check=False)
    assert gap.returncode == 1 and "BROKEN at #3: gap" in gap.stdout


def test_export_of_a_later_range_verifies_from_the_previous_hash(db, trail, api, auditor, tmp_path):
    api.force_login(auditor)
    response = api.get(reverse("governance_api:audit-event-export"), {"output": "jsonl", "seq_from": 3})
    export = tmp_path / "range.jsonl"
    export.write_bytes(b"".join(response.streaming_content))
    prev = AuditEvent.objects.get(seq=2).hash
    ok = subprocess.run(
        [sys.executable, str(SCRIPT), str(export), "--prev-hash", prev], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stdout
    assert AuditEvent.objects.get(action="audit.exported").changes["filters"] == {"seq_from": "3"}


def test_csv_export_carries_the_hashes(db, trail, api, administrator):
    api.force_login(administrator)
    response = api.get(reverse("governance_api:audit-event-export"), {"output": "csv", "action": "version.created"})
    assert response["Content-Type"].startswith("text/csv")
    rows = b"".join(response.streaming_content).decode().splitlines()
    assert rows[0].endswith("prev_hash,hash") and len(rows) == 4
    hashes = set(AuditEvent.objects.filter(action="version.created").values_list("hash", flat=True))
    assert {row.rsplit(",", 1)[1] for row in rows[1:]} == hashes


def test_export_is_refused_to_others_and_unknown_formats(db, trail, api, owner, auditor):
    api.force_login(owner)
    assert api.get(reverse("governance_api:audit-event-export")).status_code == 403
    api.force_login(auditor)
    response = api.get(reverse("governance_api:audit-event-export"), {"output": "xml"})
    assert response.status_code == 400 and response.json()["error"]["fields"] == {"output": ["csv or jsonl"]}
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


# --- Sign-ins --------------------------------------------------------------------------------------------------


def test_sign_in_failure_and_sign_out_are_recorded(db, owner):
    client = Client()
    client.post(reverse("login"), {"username": "owner", "password": "wrong-password"})
    failed = AuditEvent.objects.get(action="login.failed")
    assert failed.actor_type == "system" and failed.changes == {"username": "owner"}
    assert "wrong-password" not in json.dumps(event_fields(failed))
    assert client.post(reverse("login"), {"username": "owner", "password": PASSWORD}).status_code == 302
    succeeded = AuditEvent.objects.get(action="login.succeeded")
    assert succeeded.actor_label == "owner" and succeeded.ip == "127.0.0.1"
    client.post(reverse("logout"))
    assert AuditEvent.objects.filter(action="logout", actor_label="owner").count() == 1


def test_lockout_still_works_and_every_failure_is_recorded(db, owner, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        client.post(reverse("login"), {"username": "owner", "password": "nope"})
    response = client.post(reverse("login"), {"username": "owner", "password": PASSWORD})
    assert response.status_code == 429 or b"locked" in response.content.lower()
    assert not AuditEvent.objects.filter(action="login.succeeded").exists()
    assert AuditEvent.objects.filter(action="login.failed").count() >= settings.AXES_FAILURE_LIMIT


# --- History tabs ----------------------------------------------------------------------------------------------


def test_version_history_shows_the_version_and_its_artifacts_only(db, owner, trail):
    version = trail.versions.get(version=2)
    services.version_update(actor=owner, version=version, data={"description": "Second."})
    client = Client()
    client.force_login(owner)
    page = client.get(reverse("governance:version-history", args=[trail.name, 2]))
    assert page.status_code == 200
    events = list(page.context["page"].object_list)
    assert {e.action for e in events} == {"version.created", "version.updated"}
    assert all(e.target_id == str(version.pk) for e in events)
    history_url = reverse("governance:version-history", args=[trail.name, 2])
    assert f'class="nav-link active" aria-current="page" href="{history_url}"' in page.content.decode()
    overview = client.get(reverse("registry:version-detail", args=[trail.name, 2])).content.decode()
    assert f'href="{history_url}">History</a>' in overview


def test_token_prefixes_in_a_history_are_for_auditors_administrators_and_the_token_owner(
    db, owner, teammate, auditor, administrator, viewer, trail, api
):
    token, secret = services.token_create(actor=owner, user=owner, name="ci", scopes=["read", "write"])
    api.credentials(**bearer(secret))
    patched = api.patch(f"/api/v1/models/{trail.name}/versions/3/", {"description": "By CI."}, format="json")
    assert patched.status_code == 200
    assert AuditEvent.objects.get(action="version.updated").actor_token == token.prefix
    for who, shown in ((owner, True), (auditor, True), (administrator, True), (viewer, False), (teammate, False)):
        client = Client()
        client.force_login(who)
        for url in (
            reverse("governance:model-history", args=[trail.name]),
            reverse("governance:version-history", args=[trail.name, 3]),
        ):
            page = client.get(url).content.decode()
            assert (f"token {token.prefix}" in page) is shown, (who, url)
            assert ("an API token" in page) is not shown, (who, url)


@pytest.mark.tampers_audit
def test_an_archived_range_still_verifies_from_its_checkpoint(postgres, trail, artifact_storage):
    """docs/audit.md, "Retention and archiving": the range up to a checkpoint is removed; verification starts
    after it, anchored by the checkpoint's hash, and still catches tampering in what remains."""
    checkpoint = checkpoints.checkpoint_write()
    make_version(trail.owner, trail)
    _without_row_trigger()
    _sql("DELETE FROM governance_auditevent WHERE seq <= %s", [checkpoint.seq])
    assert "OK" in _call("audit", "verify")
    assert "OK" in _call("audit", "verify", "--from", str(checkpoint.seq + 1))
    _sql("UPDATE governance_auditevent SET actor_label = 'mallory' WHERE seq = %s", [checkpoint.seq + 1])
    _verify_fails_at(checkpoint.seq + 1, "hash mismatch")


# --- Formula injection ----------------------------------------------------------------------------------------

FORMULA_USERNAME = '=HYPERLINK("http://127.0.0.1:9/x","click")'
FORMULA_AGENT = "@SUM(1+1)*cmd|' /C calc'!A0"


def _csv_cells(content: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(content.decode())) for cell in row]


@pytest.mark.parametrize("where", ["page", "api"])
def test_formulas_planted_by_a_failed_sign_in_are_neutralised_in_the_csv_export(db, auditor, where):
    Client(HTTP_USER_AGENT=FORMULA_AGENT, HTTP_X_REQUEST_ID="-2+3").post(
        reverse("login"), {"username": FORMULA_USERNAME, "password": "wrong"}
    )
    failed = AuditEvent.objects.get(action="login.failed")
    assert failed.user_agent == FORMULA_AGENT  # recorded as sent; only the spreadsheet export neutralises it
    assert failed.request_id != "-2+3"  # not a plain token: a fresh id instead
    client = Client()
    client.force_login(auditor)
    url = reverse("governance:audit-export") if where == "page" else reverse("governance_api:audit-event-export")
    cells = _csv_cells(b"".join(client.get(url, {"output": "csv", "action": "login.failed"}).streaming_content))
    assert "'" + FORMULA_AGENT in cells
    assert "'" + FORMULA_USERNAME in cells  # the target label
    assert not [cell for cell in cells if cell[:1] in {"=", "+", "-", "@", "\t", "\r"}]


def test_the_jsonl_export_keeps_formula_values_byte_exact(db, auditor):
    Client(HTTP_USER_AGENT=FORMULA_AGENT).post(reverse("login"), {"username": FORMULA_USERNAME, "password": "x"})
    client = Client()
    client.force_login(auditor)
    response = client.get(reverse("governance:audit-export"), {"output": "jsonl", "action": "login.failed"})
    record = json.loads(b"".join(response.streaming_content).splitlines()[0])
    assert record["user_agent"] == FORMULA_AGENT


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("ci-run_42.7", True), ("a" * 64, True), ("a" * 65, False), ("=1+1", False), ("id with space", False)],
)
def test_a_client_request_id_is_kept_only_when_it_is_a_plain_token(db, sent, kept):
    response = Client(HTTP_X_REQUEST_ID=sent).get(reverse("login"))
    assert (response["X-Request-ID"] == sent) is kept
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", response["X-Request-ID"])
