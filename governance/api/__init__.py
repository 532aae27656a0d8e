"""The governance part of the v1 REST API (risk assessments, risk register; the audit trail joins it)."""
