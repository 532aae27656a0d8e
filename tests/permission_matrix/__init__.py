"""The permission matrix: every view and API endpoint, called as every persona, against an internal and a
restricted model.

The expected status of each call is derived from ONE table: the `ROWS` of the `rows_*.py` modules in this
package (one module per feature), which say what action each endpoint needs and what it answers on
success. The URL configuration is walked, and an endpoint missing from the table fails
`test_every_endpoint_is_in_the_matrix`, so nothing ships unguarded. To cover a new endpoint, add an
`Endpoint` row to the feature's rows module (or a new `rows_<feature>.py`).

Who may do what (see registry/permissions.py):
- view: any signed-in user on an internal model; on a restricted one only the owner, the owning team,
  risk officers, auditors and administrators. Otherwise 404, so existence does not leak.
- change and the other model actions: the owner, the owning team and administrators; 403 for anyone else
  who can see the model.

API endpoints are also called with the owner's API tokens (`TOKEN_PERSONAS`): a token answers as its owner
would, except 403 when it lacks the scope the endpoint needs (`Endpoint.scope`, derived from the action when
not given) and 404 on every model but the one it is restricted to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from registry.choices import TokenScope
from registry.permissions import Action

PERSONAS = [
    "anonymous",
    "nobody",
    "viewer",
    "reviewer",
    "outsider",
    "risk_officer",
    "auditor",
    "owner",
    "teammate",
    "administrator",
]
SEES_RESTRICTED = {"owner", "teammate", "risk_officer", "auditor", "administrator"}
MODEL_ACTORS = {"owner", "teammate", "administrator"}
CREATES_MODELS = {"owner", "teammate", "outsider", "administrator"}
READS_AUDIT = {"auditor", "administrator"}
ADMINISTRATORS = {"administrator"}


@dataclass(frozen=True)
class TokenPersona:
    """The owner's API token with these scopes; `other_model` restricts it to a model that is not under test."""

    scopes: tuple[str, ...]
    other_model: bool = False


# The scope each action needs, written out here rather than read from production's table, so that a wrong
# mapping in registry/permissions.py fails the matrix instead of passing it.
SCOPE_FOR_ACTION = {
    Action.VIEW: "read",
    Action.CHANGE: "write",
    Action.DELETE: "write",
    Action.UPLOAD: "write",
    Action.SUBMIT: "write",
    Action.MANAGE_ACCESS: "admin",
}
# What a token with these scopes may do: admin implies write and read; write and vote imply read.
SCOPES_GRANTED = {
    ("read",): {"read"},
    ("write",): {"write", "read"},
    ("admin",): {"admin", "write", "read"},
    ("vote",): {"vote", "read"},
}

TOKEN_PERSONAS = {
    "read_token": TokenPersona((TokenScope.READ,)),
    "write_token": TokenPersona((TokenScope.WRITE,)),
    "other_model_token": TokenPersona((TokenScope.ADMIN,), other_model=True),
}
TOKEN_OWNER = "owner"


@dataclass(frozen=True)
class Endpoint:
    """One row of the matrix. `action` None means "any signed-in user"; a callable decides by persona."""

    name: str
    method: str = "get"
    action: Action | None | Callable[[str], bool] = Action.VIEW
    ok: int = 200
    api: bool = False
    data: dict[str, Any] | Callable[[dict, str], Any] = field(default_factory=dict)
    model_scoped: bool = True
    # Hooks for rows that need more than the shared world: extra URL arguments built from the world for the
    # model under test (e.g. an approval request's id), and an explicit expectation when the generic rule
    # does not describe the endpoint (e.g. separation of duties on votes).
    url_kwargs: Callable[[dict, str, Any], dict[str, Any]] | None = None
    # How the body is sent: "json" (API default), "multipart", or "raw" (bytes as application/octet-stream).
    content: str = "json"
    expect: Callable[[str, str], int] | None = None
    # The API token scope the endpoint needs. Default: the action's scope (view: read, manage_access: admin,
    # the rest: write); for rows without an Action, read for GET and write otherwise.
    scope: str | None = None
    # True for writes to the caller's own account (their API tokens) rather than to the registry: the
    # "an auditor changes nothing" test leaves these out.
    personal: bool = False
    # True for a POST that only reads (MLflow's get-latest-versions): not a write for "an auditor changes nothing".
    read_only: bool = False
    # What a caller who is not signed in gets, when it is not the sign-in redirect (302) or 401 (API): the health
    # endpoints answer everyone, /metrics answers 404 to anyone who is not allowed.
    anonymous: int | None = None

    @property
    def needed_scope(self) -> str:
        if self.scope is not None:
            return self.scope
        if isinstance(self.action, Action):
            return SCOPE_FOR_ACTION[self.action]
        return "read" if self.method == "get" else "write"
