"""The shared world of the permission matrix: every persona, an internal and a restricted model of team
Alpha (each with version 1), and a Viewer granted view on both."""

import pytest

from registry import services
from registry.choices import Visibility
from registry.permissions import Action, Role
from tests.factories import make_model, make_user, make_version


@pytest.fixture
def world(
    owner, teammate, outsider, reviewer, risk_officer, auditor, viewer, administrator, team_alpha, artifact_storage
):
    nobody = make_user("nobody")
    people = {
        "owner": owner,
        "teammate": teammate,
        "outsider": outsider,
        "reviewer": reviewer,
        "risk_officer": risk_officer,
        "auditor": auditor,
        "viewer": viewer,
        "administrator": administrator,
        "nobody": nobody,
    }
    models = {}
    for visibility, name in ((Visibility.INTERNAL, "open"), (Visibility.RESTRICTED, "secret")):
        model = make_model(owner, name=name, visibility=visibility, team=team_alpha)
        make_version(owner, model)
        models[visibility] = model
    other = make_user("grantee", roles=[Role.VIEWER])
    for model in models.values():
        services.access_grant(actor=owner, model=model, grantee=other, actions=[Action.VIEW])
    return {"people": people, "models": models, "other": other}
