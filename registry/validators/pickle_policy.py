"""Which imports a pickle may make.

A pickle runs code by importing a global (GLOBAL, STACK_GLOBAL, INST) and calling it. We resolve each global
exactly as `pickle.Unpickler.find_class` would, old Python 2 names included, and sort it into one of three
classes without ever importing it:

- DENIED: anything that can run commands, evaluate code, open files or sockets, import modules, reach into
  Python internals, or load another serialised object. The artifact is rejected.
- ALLOWED: what PyTorch, NumPy and safetensors-style state dicts need to rebuild tensors and containers.
- UNKNOWN: everything else (scikit-learn estimators, XGBoost boosters, custom classes).
  Loading them runs their constructors and `__setstate__`, which nobody here has read: a human decides.
"""

from __future__ import annotations

import _compat_pickle
from dataclasses import dataclass

DENIED = "denied"
ALLOWED = "allowed"
UNKNOWN = "unknown"

# Modules (and every submodule) that have no business in a model file.
DENIED_MODULES = frozenset(
    {
        # processes and the operating system
        "os", "posix", "nt", "posixpath", "ntpath", "subprocess", "_posixsubprocess", "pty", "commands",
        "multiprocessing", "signal", "_signal", "resource", "fcntl", "platform", "_osx_support", "_aix_support",
        "uuid", "getpass", "pwd", "grp", "spwd", "crypt", "termios", "tty", "_pyrepl",
        # the interpreter itself
        "sys", "builtins", "__builtin__", "__builtins__", "_sitebuiltins", "site", "gc", "inspect", "types",
        "marshal", "code", "codeop", "runpy", "importlib", "_frozen_importlib", "_frozen_importlib_external",
        "_imp", "imp", "zipimport", "pkgutil", "sysconfig", "ctypes", "_ctypes", "cffi", "atexit", "threading",
        "_thread", "asyncio", "concurrent", "weakref", "_weakref", "ast", "dis", "opcode", "_opcode", "symtable",
        "compileall", "py_compile", "linecache", "tokenize", "traceback", "warnings", "faulthandler", "tracemalloc",
        # function-composition tricks that turn harmless callables into arbitrary calls
        "functools", "_functools", "operator", "_operator", "itertools", "copy", "codecs", "_codecs",
        # debuggers, profilers, REPLs, documentation tools that execute code
        "pdb", "bdb", "cProfile", "profile", "timeit", "trace", "pydoc", "doctest", "unittest", "test", "idlelib",
        "lib2to3", "rlcompleter", "readline", "cmd", "IPython",
        # files, archives and storage
        "io", "_io", "shutil", "tempfile", "glob", "fnmatch", "pathlib", "fileinput", "filecmp", "mmap", "shelve",
        "dbm", "sqlite3", "_sqlite3", "tarfile", "zipfile", "gzip", "bz2", "lzma", "zlib", "logging", "syslog",
        # networks
        "socket", "_socket", "ssl", "_ssl", "select", "selectors", "socketserver", "http", "httplib", "urllib",
        "urllib2", "urllib3", "requests", "httpx", "aiohttp", "ftplib", "smtplib", "imaplib", "poplib", "nntplib",
        "telnetlib", "xmlrpc", "webbrowser", "paramiko", "fabric", "antigravity", "this",
        # packaging and environments
        "pip", "ensurepip", "venv", "distutils", "setuptools", "pkg_resources",
        # nested deserialisers: a pickle that loads another pickle hides it from every scanner
        "pickle", "_pickle", "cPickle", "pickletools", "dill", "cloudpickle", "joblib.numpy_pickle_compat",
        "jsonpickle", "yaml",
        # GUI and terminal toys that run commands
        "tkinter", "Tkinter", "turtle", "curses",
        # framework corners that compile, load or execute code
        "torch.hub", "torch.jit", "torch._dynamo", "torch._inductor", "torch.compiler", "torch.fx", "torch.package",
        "torch.utils.cpp_extension", "torch.utils._config_module", "torch.utils.data.datapipes",
        "torch.utils.bottleneck", "torch.utils.collect_env", "torch.distributed", "torch.multiprocessing",
        "torch._C", "torch.ops", "torch._ops", "torch.cuda", "torch.backends",
        "numpy.f2py", "numpy.distutils", "numpy.testing", "numpy.ctypeslib", "numpy.lib.npyio", "numpy.lib.format",
        "pandas.io", "keras.src.saving", "tensorflow", "transformers.dynamic_module_utils",
    }
)  # fmt: skip

# The last component of a global's name that means "run, evaluate, open or load", in any module.
DENIED_NAMES = frozenset(
    {
        "system", "popen", "spawn", "spawnl", "spawnv", "spawnve", "execl", "execv", "execve", "execvp", "fork",
        "Popen", "call", "check_call", "check_output", "run", "getoutput", "getstatusoutput",
        "eval", "exec", "execfile", "compile", "__import__", "import_module", "reload", "breakpoint", "set_trace",
        "getattr", "setattr", "delattr", "globals", "locals", "vars", "attrgetter", "methodcaller", "partial",
        "open", "urlopen", "load", "loads", "unsafe_load", "full_load", "load_model", "load_module", "load_library",
        "read_pickle", "from_pickle", "runcode", "runsource", "run_path", "run_module", "_run_code", "execWrapper",
        "apply", "input", "help",
    }
)  # fmt: skip


def _words(text: str) -> list[str]:
    return text.split()


BUILTIN_MODULES = frozenset({"builtins", "__builtin__", "__builtins__"})

# Exact globals that load a nested serialised object or compile code, in modules that are otherwise fine.
DENIED_GLOBALS = {
    ("torch.storage", "_load_from_bytes"): "it loads a nested checkpoint, hiding a second pickle from scanners",
    ("torch.serialization", "_load"): "it loads a nested checkpoint, hiding a second pickle from scanners",
    ("torch.serialization", "load"): "it loads a nested checkpoint, hiding a second pickle from scanners",
}

# builtins is denied except for plain data constructors.
ALLOWED_BUILTINS = frozenset(
    {"set", "frozenset", "bytearray", "bytes", "complex", "slice", "range", "list", "dict", "tuple", "int", "float",
     "bool", "str", "object"}
)  # fmt: skip

_TORCH_STORAGES = _words(
    "DoubleStorage FloatStorage HalfStorage BFloat16Storage LongStorage IntStorage ShortStorage CharStorage "
    "ByteStorage BoolStorage ComplexDoubleStorage ComplexFloatStorage QUInt8Storage QInt8Storage QInt32Storage "
    "QUInt4x2Storage QUInt2x4Storage UntypedStorage TypedStorage"
)
_TORCH_DTYPES = _words(
    "float64 double float32 float float16 half bfloat16 complex128 cdouble complex64 cfloat complex32 chalf "
    "int64 long int32 int int16 short int8 uint8 uint16 uint32 uint64 bool qint8 quint8 qint32 quint4x2 quint2x4 "
    "float8_e4m3fn float8_e5m2 float8_e4m3fnuz float8_e5m2fnuz float8_e8m0fnu float4_e2m1fn_x2 "
    "bits1x8 bits2x4 bits4x2 bits8 bits16 uint1 uint2 uint3 uint4 uint5 uint6 uint7 int1 int2 int3 int4 int5 "
    "int6 int7 per_tensor_affine per_tensor_symmetric per_channel_affine per_channel_symmetric "
    "per_channel_affine_float_qparams strided sparse_coo sparse_csr sparse_csc sparse_bsr sparse_bsc _mkldnn "
    "contiguous_format channels_last channels_last_3d preserve_format"
)
_TORCH_REBUILDERS = _words(
    "_rebuild_tensor _rebuild_tensor_v2 _rebuild_tensor_v3 _rebuild_parameter _rebuild_parameter_with_state "
    "_rebuild_qtensor _rebuild_sparse_tensor _rebuild_meta_tensor_no_storage _rebuild_nested_tensor "
    "_rebuild_wrapper_subclass _rebuild_device_tensor_from_cpu_tensor _rebuild_device_tensor_from_numpy"
)
_NUMPY_SCALARS = _words(
    "bool_ int8 int16 int32 int64 uint8 uint16 uint32 uint64 float16 float32 float64 longdouble complex64 "
    "complex128 clongdouble str_ bytes_ void datetime64 timedelta64 intc uintc intp uintp"
)


def _allowed_globals() -> frozenset[tuple[str, str]]:
    allowed = {
        ("collections", "OrderedDict"),
        ("collections", "Counter"),
        ("collections", "defaultdict"),
        ("collections", "deque"),
        ("copyreg", "_reconstructor"),  # protocol 0/1 objects: calls cls.__new__ of a class checked on its own
        ("_codecs", "encode"),  # how protocol 2 stores bytes; it only re-encodes a string
        ("torch", "Size"),
        ("torch", "Tensor"),
        ("torch", "device"),
        ("torch", "dtype"),
        ("torch", "layout"),
        ("torch", "memory_format"),
        ("torch.nn.parameter", "Parameter"),
        ("torch.serialization", "_get_layout"),
        ("torch._tensor", "_rebuild_from_type_v2"),
        ("torch.storage", "TypedStorage"),
        ("torch.storage", "UntypedStorage"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy", "matrix"),
        ("numpy.ma.core", "_mareconstruct"),
        ("numpy.ma.core", "MaskedArray"),
        # joblib's stand-in for an array whose bytes follow in the file; the walk reads exactly those bytes.
        ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    }
    allowed |= {("builtins", name) for name in ALLOWED_BUILTINS}
    allowed |= {("torch", name) for name in _TORCH_STORAGES + _TORCH_DTYPES}
    allowed |= {("torch._utils", name) for name in _TORCH_REBUILDERS}
    for core in ("numpy.core", "numpy._core"):
        allowed |= {(f"{core}.multiarray", "_reconstruct"), (f"{core}.multiarray", "scalar")}
        allowed |= {(f"{core}.numeric", "_frombuffer")}
    allowed |= {("numpy", name) for name in _NUMPY_SCALARS}
    allowed |= {("numpy.dtypes", f"{kind}DType") for kind in _numpy_dtype_classes()}
    return frozenset(allowed)


def _numpy_dtype_classes() -> list[str]:
    return _words(
        "Bool Int8 Int16 Int32 Int64 UInt8 UInt16 UInt32 UInt64 Float16 Float32 Float64 LongDouble Complex64 "
        "Complex128 CLongDouble Bytes Str Void DateTime64 TimeDelta64 Byte UByte Short UShort Int UInt Long ULong "
        "LongLong ULongLong Half Float Double CDouble CFloat StringDType"
    )


ALLOWED_GLOBALS = _allowed_globals()


@dataclass(frozen=True)
class GlobalRef:
    """A global as written in the pickle and as the unpickler would resolve it."""

    module: str
    name: str
    written_module: str
    written_name: str

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.name}"

    def describe(self) -> str:
        text = self.dotted
        if (self.module, self.name) != (self.written_module, self.written_name):
            text += f" (written as {self.written_module}.{self.written_name})"
        if self.module in ("posix", "nt"):  # what `os.system` and friends pickle as
            text += f", that is os.{self.name}"
        return text


def resolve(module: str, name: str, proto: int) -> GlobalRef:
    """What `find_class` imports: protocols below 3 map Python 2 names (`__builtin__`, `copy_reg`, ...)."""
    resolved_module, resolved_name = module, name
    if proto < 3:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            resolved_module, resolved_name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            resolved_module = _compat_pickle.IMPORT_MAPPING[module]
    return GlobalRef(resolved_module, resolved_name, module, name)


def _mapped_forms(ref: GlobalRef) -> set[tuple[str, str]]:
    """Every name a loader might import for this global: as written, as resolved, and through the Python 2
    mapping whatever the protocol (PyTorch's loader applies it regardless)."""
    forms = {(ref.module, ref.name), (ref.written_module, ref.written_name)}
    module, name = ref.written_module, ref.written_name
    if (module, name) in _compat_pickle.NAME_MAPPING:
        forms.add(_compat_pickle.NAME_MAPPING[(module, name)])
    elif module in _compat_pickle.IMPORT_MAPPING:
        forms.add((_compat_pickle.IMPORT_MAPPING[module], name))
    return forms


def _is_dotted_identifier(text: str) -> bool:
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def _denied_reason(module: str, name: str) -> str | None:
    if (module, name) in DENIED_GLOBALS:
        return DENIED_GLOBALS[(module, name)]
    if not _is_dotted_identifier(module) or not _is_dotted_identifier(name):
        return "its name is not a valid Python name, a sign of an attempt to confuse scanners"
    if module in BUILTIN_MODULES:
        return None if name in ALLOWED_BUILTINS else "it gives access to Python's built-in functions"
    module_parts, name_parts = module.split("."), name.split(".")
    parts = module_parts + name_parts
    dunders = [p for p in parts if len(p) > 4 and p.startswith("__") and p.endswith("__") and p != "__main__"]
    if dunders:
        return f"it reaches into Python internals ({dunders[0]})"
    # A module, a parent package, or (protocol 4 allows dotted names) an attribute path through a module.
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        if prefix in DENIED_MODULES:
            return (
                f"{prefix} is on the deny-list of modules that can run commands, evaluate code, touch files "
                "or the network, or chain calls together"
            )
    if any(p in DENIED_MODULES for p in name_parts):
        return "its attribute path passes through a module that can run commands or execute code"
    if name_parts[-1] in DENIED_NAMES:
        return f"{name_parts[-1]} runs commands or code, opens files, or loads another serialised object"
    return None


def classify(ref: GlobalRef) -> tuple[str, str | None]:
    """(DENIED | ALLOWED | UNKNOWN, reason for a denial). The most dangerous reading of the name wins."""
    for module, name in sorted(_mapped_forms(ref)):
        if (module, name) in ALLOWED_GLOBALS:
            continue
        reason = _denied_reason(module, name)
        if reason:
            return DENIED, reason
    if (ref.module, ref.name) in ALLOWED_GLOBALS:
        return ALLOWED, None
    return UNKNOWN, None


def is_plausible_import(module: str, name: str) -> bool:
    """Could an unpickler actually import this? Used to tell a text file from a protocol 0 pickle."""
    return _is_dotted_identifier(module) and _is_dotted_identifier(name)
