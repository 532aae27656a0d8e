"""The MLflow-compatible Model Registry API (`/api/2.0/mlflow/`): MLflow's wire protocol over Arbiter's own
services and selectors, so `MlflowClient` pipelines register into the governed registry unchanged.

Only shapes and error codes live here; every rule (permissions, lifecycle, approval gate, audit) is the
v1 API's, reached through `registry.services`, `registry.selectors` and `governance.services`.
"""
