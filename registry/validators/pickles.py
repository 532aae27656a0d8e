"""Pickle safety: our own opcode walk plus two independent scanners, picklescan (strict) and fickling (with its
ML allow-list). Nothing is ever unpickled and no module named in a pickle is ever imported.

How the three opinions combine:
- a global our policy denies, or one that picklescan's deny-list or fickling's malicious-import analyses flag,
  rejects the file;
- a global outside our allow-list (picklescan's strict mode and fickling's ML allow-list flag the same ones)
  sends the file to a reviewer, with the globals listed;
- a malformed, truncated or unresolvable stream rejects it; a stream the scanners could not finish sends it
  to a reviewer.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import BinaryIO

from .context import ScanContext, Source, brief
from .pickle_policy import ALLOWED, DENIED, classify, is_plausible_import
from .pickle_walk import PickleWalk, walk_pickle

LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C  # first pickle of torch.save(..., _use_new_zipfile_serialization=False)
LEGACY_TORCH_PICKLES = 5  # magic, protocol version, system info, the object, the storage keys
MAX_STACKED_PICKLES = 64
LIST_LIMIT = 20

# fickling analyses whose findings mean "this pickle is malicious", as opposed to "not on an allow-list".
_FICKLING_FLAGGING = {
    "UnsafeImports",
    "UnsafeImportsML",
    "OvertlyBadEval",
    "ScannerDeactivation",
    "ResourceExhaustion",
    "DuplicateProtoAnalysis",
    "MisplacedProtoAnalysis",
}
# fickling denies the whole joblib module because joblib.load is a nested pickle; the array wrapper joblib
# itself writes is data, and our walk scans the array bytes it stands for.
_FICKLING_FALSE_POSITIVES = ("joblib.numpy_pickle import NumpyArrayWrapper",)


def scan_pickle_source(source: Source, ctx: ScanContext) -> str:
    """Scan a file (or archive member) that is a pickle, or several stacked ones. Returns "pickle" or "joblib"."""
    walks: list[PickleWalk] = []
    legacy_torch = False
    with source.open() as stream:
        position = 0
        while position < source.size and len(walks) < MAX_STACKED_PICKLES:
            walk = _walk(stream, ctx, start=position, end=source.size)
            walks.append(walk)
            position = walk.end
            if not walk.stopped:
                break
            if len(walks) == 1 and walk.result == LEGACY_TORCH_MAGIC:
                legacy_torch = True
            if legacy_torch and len(walks) == LEGACY_TORCH_PICKLES:
                break
    last = walks[-1]
    if legacy_torch:
        ctx.info(
            "pickle.legacy_pytorch",
            "This is a PyTorch checkpoint in the legacy (pre-1.6) format; its pickles were scanned and the raw "
            "tensor bytes after them are not interpreted.",
        )
    elif len(walks) > 1 and last.error is not None:
        # pickle.load reads only the first pickle; whatever follows must be another clean pickle, not hidden data.
        ctx.error(
            "pickle.trailing_data",
            f"{source.size - walks[-2].end} bytes after the end of the pickle are not a valid pickle "
            f"({last.error}); data hidden after a pickle is a way to smuggle content past scanners.",
        )
        last.error = None
    elif last.stopped and last.end < source.size:
        ctx.warning(
            "pickle.incomplete_scan",
            f"The file stacks more than {MAX_STACKED_PICKLES} pickles; the rest was not scanned.",
        )
    report(ctx, walks, source, plain_rewalk=True)
    return "joblib" if _uses_joblib(walks) else "pickle"


def open_at(source: Source, offset: int) -> BinaryIO:
    """Open a source positioned at `offset`, reading forward when the stream cannot seek."""
    stream = source.open()
    if stream.seekable():
        stream.seek(offset)
    else:
        left = offset
        while left > 0:
            chunk = stream.read(min(left, 1024 * 1024))
            if not chunk:
                break
            left -= len(chunk)
    return stream


def scan_embedded_pickle(source: Source, ctx: ScanContext, *, start: int, what: str) -> int:
    """Scan one pickle embedded at `start` (a NumPy object array). Returns the offset where it ends."""
    with open_at(source, start) as stream:
        walk = _walk(stream, ctx, start=start, end=source.size)
    report(ctx, [walk], source, plain_rewalk=False, what=what)
    return walk.end


def _walk(stream: BinaryIO, ctx: ScanContext, *, start: int, end: int | None) -> PickleWalk:
    limits = ctx.limits
    budget = max(0, limits.max_pickle_ops - ctx.pickle_ops)
    skeleton_room = max(0, limits.max_pickle_bytes - ctx.pickle_bytes)
    walk = walk_pickle(
        stream, start=start, end=end, max_ops=budget, skeleton_limit=skeleton_room, skeleton_ops=limits.max_scanner_ops
    )
    ctx.pickle_ops += walk.ops  # includes the nested walks
    ctx.pickle_bytes += sum(len(w.skeleton) for w in walk.all_walks() if w.skeleton is not None)
    return walk


def _uses_joblib(walks: Iterable[PickleWalk]) -> bool:
    return any(g.ref.module.startswith("joblib.") for walk in walks for w in walk.all_walks() for g in w.globals)


def report(ctx: ScanContext, walks: list[PickleWalk], source: Source, *, plain_rewalk: bool, what: str = "") -> None:
    """Turn walks into findings: structure problems, each global's class, and the third-party scanners' view."""
    what = what or "the pickle"
    subject = what[0].upper() + what[1:]
    all_walks = [w for walk in walks for w in walk.all_walks()]
    globals_seen = [g for w in all_walks for g in w.globals]

    # joblib skips raw array bytes that plain pickle.load would read as opcodes; read them that way too, so a
    # payload disguised as array data is still seen. Array bytes read as opcodes are mostly noise, so only
    # denied imports with real Python names count from this reading.
    disguised = []
    if plain_rewalk:
        for walk in walks:
            if walk.joblib_arrays:
                with open_at(source, walk.start) as stream:
                    plain = walk_pickle(
                        stream, start=walk.start, end=source.size, max_ops=ctx.limits.max_pickle_ops,
                        skeleton_limit=None, joblib=False,
                    )  # fmt: skip
                disguised.extend(g for g in plain.globals if is_plausible_import(g.ref.module, g.ref.name))

    for w in all_walks:
        if w.error is not None:
            code = "pickle.truncated" if w.error.truncated else "pickle.malformed"
            adjective = "truncated" if w.error.truncated else "malformed"
            ctx.error(code, f"{subject} is {adjective}: {w.error} (at byte {w.error.offset}).")
        if w.incomplete is not None:
            ctx.warning(
                "pickle.incomplete_scan",
                f"{subject} could not be scanned to the end: {w.incomplete} (at byte {w.incomplete.offset}); "
                "what follows was not inspected.",
            )
        if w.unresolved:
            ctx.error(
                "pickle.unresolved_global",
                f"{subject} computes the name of something it imports ({', '.join(w.unresolved[:5])}), which hides "
                "what it would run; legitimate model files never do this.",
            )
        if w.extensions:
            ctx.error(
                "pickle.extension_code",
                f"{subject} imports through the copyreg extension registry (codes {w.extensions[:5]}), which cannot "
                "be checked without running the loader.",
            )
        if w.out_of_band:
            ctx.info("pickle.out_of_band", f"{subject} refers to out-of-band buffers and cannot be loaded on its own.")

    unknown: dict[str, None] = {}
    for use in globals_seen + [g for g in disguised if classify(g.ref)[0] == DENIED]:
        verdict, reason = classify(use.ref)
        if verdict == DENIED:
            ctx.error(
                "pickle.dangerous_global",
                f"{subject} imports {use.ref.describe()}, which is not allowed: {reason}. Loading this file could run "
                "arbitrary code.",
            )
        elif verdict != ALLOWED:
            unknown[use.ref.dotted] = None
    if unknown:
        names = list(unknown)
        listed = ", ".join(names[:LIST_LIMIT])
        if len(names) > LIST_LIMIT:
            listed += f" and {len(names) - LIST_LIMIT} more"
        ctx.warning(
            "pickle.unknown_globals",
            f"{subject} imports objects beyond plain tensors and arrays, so loading it runs their code: {listed}. "
            "A reviewer must confirm these are expected (for example a scikit-learn or XGBoost model).",
        )

    skeletons = [w for w in all_walks if w.error is None]
    if any(w.skeleton is None for w in skeletons):
        ctx.warning(
            "pickle.too_large_for_scanners",
            f"{subject} is too large for picklescan and fickling (over {ctx.limits.max_scanner_ops:,} opcodes or "
            f"{ctx.limits.max_pickle_bytes // (1024 * 1024)} MiB of them), so only Arbiter's own walk examined it; "
            "a reviewer must decide.",
        )
    for w in skeletons:
        if w.skeleton:
            _picklescan(ctx, bytes(w.skeleton), what)
            _fickling(ctx, bytes(w.skeleton), what)


def _picklescan(ctx: ScanContext, skeleton: bytes, what: str) -> None:
    ctx.used("picklescan")
    try:
        from picklescan.scanner import SafetyLevel, scan_pickle_bytes

        strict = scan_pickle_bytes(io.BytesIO(skeleton), "artifact", multiple_pickles=False, strict=True)
        lenient = scan_pickle_bytes(io.BytesIO(skeleton), "artifact", multiple_pickles=False, strict=False)
    except Exception as exc:  # noqa: BLE001 - a scanner failure must not pass the file
        ctx.warning("pickle.scanner_failed", f"picklescan could not scan {what} ({type(exc).__name__}).")
        return
    # Strict mode marks everything outside picklescan's short allow-list; the lenient run tells those apart
    # from its deny-list. The former are judged by our allow-list (reviewed if unknown), the latter reject.
    denied = {(g.module, g.name) for g in lenient.globals if g.safety == SafetyLevel.Dangerous}
    for g in strict.globals:
        if g.safety == SafetyLevel.Dangerous and (g.module, g.name) in denied:
            ctx.error(
                "pickle.scanner_flagged",
                f"picklescan flags {what}'s import of {g.module}.{g.name} as dangerous.",
            )
    if strict.scan_err:
        ctx.warning("pickle.scanner_failed", f"picklescan could not parse all of {what}.")


_ANALYZER = None


def _fickling_analyzer():
    global _ANALYZER
    if _ANALYZER is None:
        from fickling.analysis import Analysis, Analyzer, UnusedVariables
        from fickling.ml import MLAllowlist

        # UnusedVariables is left out: it fires on every protocol 2 pickle of bytes (an encode() result that is
        # memoised and not reused), says nothing about safety, and is the slowest analysis.
        analyses = [a for a in Analysis.ALL if not isinstance(a, UnusedVariables)]
        _ANALYZER = Analyzer([*analyses, MLAllowlist()])
    return _ANALYZER


def _fickling(ctx: ScanContext, skeleton: bytes, what: str) -> None:
    ctx.used("fickling")
    try:
        from fickling.analysis import Severity, check_safety
        from fickling.fickle import Pickled

        pickled = Pickled.load(skeleton, fail_on_decode_error=True)
        results = check_safety(pickled, analyzer=_fickling_analyzer()).results
    except Exception as exc:  # noqa: BLE001 - a scanner failure must not pass the file
        ctx.warning("pickle.scanner_failed", f"fickling could not analyse {what} ({type(exc).__name__}).")
        return
    for result in results:
        trigger = result.trigger or ""
        if any(fp in trigger for fp in _FICKLING_FALSE_POSITIVES):
            continue
        flagged = result.analysis_name in _FICKLING_FLAGGING and result.severity >= Severity.LIKELY_UNSAFE
        if result.analysis_name == "OvertlyBadEval":
            flagged = result.severity >= Severity.LIKELY_OVERTLY_MALICIOUS
        if flagged or result.severity >= Severity.LIKELY_OVERTLY_MALICIOUS:
            ctx.error("pickle.scanner_flagged", f"fickling flags {what}: {brief(result, 300)}")
        elif result.analysis_name is None and result.severity >= Severity.LIKELY_UNSAFE:
            ctx.warning("pickle.scanner_failed", f"fickling could not interpret {what}: {brief(result, 200)}")
