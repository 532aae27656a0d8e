"""Matrix rows for the exports of the model inventory, the risk register and approval records (browser and v1
API): any signed-in user exports what they may see (a token needs `read`); the rows themselves are restricted
(tests/governance/test_exports.py checks what each persona's export holds)."""

from tests.permission_matrix import Endpoint

KINDS = ("inventory", "risks", "approvals")


def _kind(kind: str):
    return lambda ctx, visibility, user: {"kind": kind}


ROWS = [
    *(
        Endpoint("governance:records-export", action=None, model_scoped=False, url_kwargs=_kind(kind), data=data)
        for kind in KINDS
        for data in ({"output": "csv"}, {"output": "json"})
    ),
    *(
        Endpoint(
            "governance_api:records-export",
            api=True,
            action=None,
            model_scoped=False,
            url_kwargs=_kind(kind),
            data={"output": "json"},
        )
        for kind in KINDS
    ),
]
