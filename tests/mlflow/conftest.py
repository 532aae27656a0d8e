"""The real `mlflow.MlflowClient` pointed at a live Arbiter (pytest-django's live server) with a token."""

from __future__ import annotations

import pytest

from registry import services

mlflow = pytest.importorskip("mlflow", reason="mlflow-skinny is in the dev extra")


@pytest.fixture
def mlflow_env(monkeypatch, live_server):
    """Point MLflow at the live server; retries off so refusals surface at once."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", live_server.url)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", live_server.url)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    for name in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def token_for(user, scopes=("write",)) -> str:
    _, secret = services.token_create(actor=user, user=user, name="pipeline", scopes=list(scopes))
    return secret


@pytest.fixture
def client_as(mlflow_env):
    """`client_as(user, scopes)`: an MlflowClient sending a fresh token of `user` as MLFLOW_TRACKING_TOKEN."""

    def make(user, scopes=("write",)):
        mlflow_env.setenv("MLFLOW_TRACKING_TOKEN", token_for(user, scopes))
        return mlflow.MlflowClient()

    return make


@pytest.fixture
def client(client_as, owner):
    return client_as(owner)
