"""Artifact format detection and safety scanning: pure functions over a file on disk, no database.

    result = scan_file(path, filename="model.safetensors", kind="weights", declared_sha256=None)
    result.verdict   # "valid" | "needs_review" | "rejected"
    result.findings  # (Finding(severity, code, message), ...)

See `scan.py` for the pass over the file, `detect.py` for format detection, and one module per format family
for its checks. Findings' codes are stable; SCANNER_VERSION changes whenever a rule does.
"""

from .filenames import sanitize_filename
from .results import SCANNER_VERSION, Finding, Limits, ScanResult
from .scan import scan_file

__all__ = ["SCANNER_VERSION", "Finding", "Limits", "ScanResult", "sanitize_filename", "scan_file"]
