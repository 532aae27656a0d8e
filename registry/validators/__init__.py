"""Artifact format detection and safety scanning: pure functions over a file on disk, no database.

    result = scan_file(path, filename="model.safetensors", kind="weights", declared_sha256=None)
    result.verdict   # "valid" | "needs_review" | "rejected"
    result.findings  # (Finding(severity, code, message), ...); codes are listed in FINDING_CODES

How a verdict is reached:
- Any error rejects; otherwise any warning sends the file to a reviewer; otherwise it is valid. A checker that
  crashes, a stream that cannot be parsed and a polyglot are errors; a scanner that cannot decide (a budget
  ran out, a third-party scanner failed) is a warning. Nothing undecided is ever valid.
- The format comes from the content. The extension is a hint: it chooses between readings of the same bytes
  (JSON or YAML or Markdown) and it must not contradict the content (`filenames.EXTENSION_FORMATS`).
- Unknown content is rejected for weights, config and tokenizer artifacts (they must be loadable by known
  tools) and reviewed for code, documentation, evaluation reports and other artifacts.
- Pickles: denied imports reject, imports beyond tensor/array rebuilding (scikit-learn, XGBoost, custom
  classes) need review, see `pickle_policy`.

`scan.py` makes the single pass over the file and dispatches; `detect.py` identifies formats; one module per
format family holds its checks. SCANNER_VERSION changes whenever a rule does.
"""

from .results import FINDING_CODES, SCANNER_VERSION, Finding, Limits, ScanResult
from .scan import scan_file

__all__ = ["FINDING_CODES", "SCANNER_VERSION", "Finding", "Limits", "ScanResult", "scan_file"]
