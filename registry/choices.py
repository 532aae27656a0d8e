"""Enumerations shared by models, forms, filters and the API."""

from django.db import models


class TaskType(models.TextChoices):
    CLASSIFICATION = "classification", "Classification"
    REGRESSION = "regression", "Regression"
    RANKING = "ranking", "Ranking / recommendation"
    FORECASTING = "forecasting", "Time-series forecasting"
    CLUSTERING = "clustering", "Clustering"
    ANOMALY_DETECTION = "anomaly_detection", "Anomaly detection"
    OBJECT_DETECTION = "object_detection", "Object detection"
    SEGMENTATION = "segmentation", "Segmentation"
    GENERATION = "generation", "Text / content generation"
    EMBEDDING = "embedding", "Embedding"
    SPEECH = "speech", "Speech"
    OTHER = "other", "Other"


class Framework(models.TextChoices):
    PYTORCH = "pytorch", "PyTorch"
    TENSORFLOW = "tensorflow", "TensorFlow"
    KERAS = "keras", "Keras"
    SKLEARN = "scikit-learn", "scikit-learn"
    XGBOOST = "xgboost", "XGBoost"
    LIGHTGBM = "lightgbm", "LightGBM"
    ONNX = "onnx", "ONNX"
    TRANSFORMERS = "transformers", "Hugging Face Transformers"
    JAX = "jax", "JAX"
    OTHER = "other", "Other"


class RiskTier(models.TextChoices):
    UNASSESSED = "unassessed", "Unassessed"
    MINIMAL = "minimal", "Minimal"
    LIMITED = "limited", "Limited"
    HIGH = "high", "High"
    PROHIBITED = "prohibited", "Prohibited"


class Stage(models.TextChoices):
    DEVELOPMENT = "development", "Development"
    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"
    ARCHIVED = "archived", "Archived"


class Visibility(models.TextChoices):
    INTERNAL = "internal", "Internal (every signed-in user)"
    RESTRICTED = "restricted", "Restricted (only people and teams granted access)"


class TokenScope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"
    ADMIN = "admin", "Admin"
    VOTE = "vote", "Vote"


class InProduction(models.TextChoices):
    """The catalog's production filter."""

    YES = "yes", "Has a version in production"
    NO = "no", "No version in production"


class ModelSort(models.TextChoices):
    NAME = "name", "Name (A-Z)"
    UPDATED = "-updated_at", "Last updated"
    CREATED = "-created_at", "Newest"
    OLDEST = "created_at", "Oldest"
    RELEVANCE = "relevance", "Best match"


class ArtifactKind(models.TextChoices):
    WEIGHTS = "weights", "Weights"
    CONFIG = "config", "Configuration"
    TOKENIZER = "tokenizer", "Tokenizer"
    CODE = "code", "Code"
    DOCUMENTATION = "documentation", "Documentation"
    EVALUATION_REPORT = "evaluation_report", "Evaluation report"
    OTHER = "other", "Other"


class ArtifactStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    VALIDATING = "validating", "Validating"
    VALID = "valid", "Valid"
    NEEDS_REVIEW = "needs_review", "Needs review"
    REJECTED = "rejected", "Rejected"
    ERROR = "error", "Error"
    CORRUPTED = "corrupted", "Corrupted"


class ImportStatus(models.TextChoices):
    """Bringing a version's files in from its `source` (an allowed ARTIFACT_IMPORT_SOURCES prefix). Blank: the
    source is not imported (none, or an opaque reference outside the allow-list)."""

    NONE = "", "Not imported"
    PENDING = "pending", "Pending"
    IMPORTING = "importing", "Importing"
    IMPORTED = "imported", "Imported"
    FAILED = "failed", "Failed"
