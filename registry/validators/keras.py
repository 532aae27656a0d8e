"""Keras model configurations (config.json of a .keras archive, the model_config attribute of a .h5 file).

A Keras config names the classes and functions to build. A `Lambda` layer carries marshalled Python bytecode,
and a class or function from outside Keras runs whatever code its module holds, so both reject the file. The
model is never loaded.
"""

from __future__ import annotations

from .context import ScanContext

ALLOWED_MODULE_ROOTS = ("keras", "tf_keras", "tensorflow.keras", "keras_hub", "keras_nlp", "keras_cv")
OP_LAMBDA_CLASSES = {"TFOpLambda", "SlicingOpLambda"}
# TensorFlow namespaces a TFOpLambda layer (Keras 2) may call: arithmetic and array manipulation only.
OP_NAMESPACES = {"math", "nn", "linalg", "__operators__", "image", "signal", "bitwise", "random"}
OP_FUNCTIONS = {
    "reshape", "transpose", "concat", "stack", "unstack", "expand_dims", "squeeze", "split", "gather", "gather_nd",
    "cast", "shape", "tile", "pad", "slice", "strided_slice", "where", "ones_like", "zeros_like", "fill", "range",
    "einsum", "matmul", "clip_by_value", "identity", "broadcast_to", "one_hot", "boolean_mask", "argmax", "argmin",
    "compat.v1.transpose", "reverse", "roll", "sort", "argsort", "cumsum", "repeat",
}  # fmt: skip
MAX_NODES = 1_000_000
MAX_REPORTED = 5


def module_allowed(module: str) -> bool:
    return any(module == root or module.startswith(root + ".") for root in ALLOWED_MODULE_ROOTS)


def check_keras_config(config: object, ctx: ScanContext, *, where: str) -> None:
    """Walk a parsed Keras config; `where` names it in messages ("config.json", "the model_config attribute")."""
    lambdas: list[str] = []
    modules: list[str] = []
    functions: list[str] = []
    stack = [config]
    visited = 0
    while stack:
        node = stack.pop()
        visited += 1
        if visited > MAX_NODES:
            ctx.warning("keras.config_too_large", f"The Keras configuration in {where} is too large to check fully.")
            break
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        class_name = node.get("class_name")
        module = node.get("module")
        layer_name = ""
        if isinstance(node.get("config"), dict):
            layer_name = str(node["config"].get("name", ""))[:80]
        if class_name == "Lambda" or (class_name == "__lambda__" and not lambdas):
            lambdas.append(layer_name or "an unnamed Lambda")
        if isinstance(module, str) and not module_allowed(module):
            modules.append(f"{module}.{class_name}" if isinstance(class_name, str) else module)
        if class_name in OP_LAMBDA_CLASSES and isinstance(node.get("config"), dict):
            function = node["config"].get("function")
            if isinstance(function, str) and not _op_allowed(function):
                functions.append(function)
        registered = node.get("registered_name")
        if isinstance(registered, str) and ">" in registered and not isinstance(module, str):
            modules.append(registered)
        stack.extend(node.values())
    for name in lambdas[:MAX_REPORTED]:
        ctx.error(
            "keras.lambda_layer",
            f"The Keras model in {where} has a Lambda layer ({name!r}), which carries Python code that runs when the "
            "model is loaded.",
        )
    for name in list(dict.fromkeys(modules))[:MAX_REPORTED]:
        ctx.error(
            "keras.disallowed_module",
            f"The Keras model in {where} uses {name}, from outside Keras; loading it would import and run that code.",
        )
    for name in list(dict.fromkeys(functions))[:MAX_REPORTED]:
        ctx.error(
            "keras.disallowed_function",
            f"The Keras model in {where} calls the TensorFlow function {name!r}, which is not on the allow-list of "
            "arithmetic and array operations.",
        )


def _op_allowed(function: str) -> bool:
    if function in OP_FUNCTIONS:
        return True
    namespace = function.split(".", 1)[0]
    return "." in function and namespace in OP_NAMESPACES
