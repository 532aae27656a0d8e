"""Matrix rows for the audit trail: the auditor page's export, the version History tab, and the v1 audit
API (event list and streaming export). Only auditors and administrators read the whole trail."""

from tests.permission_matrix import READS_AUDIT, Endpoint


def _reads_audit(persona: str) -> bool:
    return persona in READS_AUDIT


ROWS = [
    Endpoint("governance:audit-export", action=_reads_audit, model_scoped=False, data={"output": "jsonl"}),
    # Verify now: auditors' own oversight action; it recomputes the chain and changes nothing in the registry
    # (the request itself is recorded), so "an auditor changes nothing" leaves it out.
    Endpoint("governance:audit-verify", "post", action=_reads_audit, ok=302, model_scoped=False, read_only=True),
    Endpoint("governance:version-history"),
    Endpoint("governance_api:audit-event-list", api=True, action=_reads_audit, model_scoped=False),
    Endpoint(
        "governance_api:audit-event-export", api=True, action=_reads_audit, model_scoped=False, data={"output": "csv"}
    ),
]
