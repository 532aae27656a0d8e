"""HDF5 files (.h5, and the weights inside a .keras archive), opened read-only with h5py and never loaded as
a model.

External links and external raw storage read other files on the loading machine; virtual datasets stitch in
data from other files. All three reject the file. A Keras model_config (or training_config) attribute is
checked like a .keras config.
"""

from __future__ import annotations

import json

from .context import ScanContext, Source, brief
from .keras import check_keras_config

KERAS_ATTRIBUTES = ("model_config", "training_config")
MAX_REPORTED = 5


def check_hdf5(source: Source, ctx: ScanContext, *, superblock: int | None = 0) -> str:
    import h5py

    ctx.used("h5py")
    if superblock:
        ctx.warning(
            "hdf5.user_block",
            f"The HDF5 data starts at byte {superblock:,} after a user block, a place where other content can hide.",
        )
    stream = None
    try:
        if source.path is not None:
            handle = h5py.File(source.path, "r", locking=False)
        else:
            stream = source.open()
            handle = h5py.File(stream, "r", locking=False)
    except (OSError, ValueError) as exc:
        if stream is not None:
            stream.close()
        ctx.error("hdf5.unreadable", f"The file is not a readable HDF5 file ({brief(exc, 200)}).")
        return "hdf5"
    try:
        with handle:
            _walk(handle, ctx)
            for attribute in KERAS_ATTRIBUTES:
                if attribute in handle.attrs:
                    _check_keras_attribute(handle.attrs[attribute], attribute, ctx)
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
        ctx.error("hdf5.unreadable", f"The HDF5 file is damaged ({brief(exc, 200)}).")
    finally:
        if stream is not None:
            stream.close()
    return "hdf5"


def _walk(root, ctx: ScanContext) -> None:
    import h5py

    external_links: list[str] = []
    virtual: list[str] = []
    external_storage: list[str] = []
    seen = {root.id}
    stack = [("", root)]
    count = 0
    while stack:
        path, group = stack.pop()
        for name in group:
            count += 1
            if count > ctx.limits.max_hdf5_objects:
                ctx.warning(
                    "hdf5.too_many_objects",
                    f"The HDF5 file has more than {ctx.limits.max_hdf5_objects:,} objects; the rest was not checked.",
                )
                return _report(ctx, external_links, virtual, external_storage)
            full = f"{path}/{name}"
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                external_links.append(f"{full} -> {link.filename}:{link.path}")
                continue
            if isinstance(link, h5py.SoftLink):
                continue  # points inside this file; the target is visited through its own hard link
            item = group.get(name)
            if isinstance(item, h5py.Group):
                if item.id not in seen:
                    seen.add(item.id)
                    stack.append((full, item))
            elif isinstance(item, h5py.Dataset):
                if item.is_virtual:
                    sources = {s.file_name for s in item.virtual_sources()}
                    virtual.append(f"{full} (from {', '.join(sorted(sources))[:120]})")
                if item.external:
                    external_storage.append(f"{full} (in {', '.join(str(e[0]) for e in item.external)[:120]})")
    _report(ctx, external_links, virtual, external_storage)


def _report(ctx: ScanContext, external_links: list[str], virtual: list[str], external_storage: list[str]) -> None:
    for text in external_links[:MAX_REPORTED]:
        ctx.error("hdf5.external_link", f"The HDF5 file links to another file: {text}.")
    for text in virtual[:MAX_REPORTED]:
        ctx.error("hdf5.virtual_dataset", f"The HDF5 dataset {text} is virtual: it reads its data from other files.")
    for text in external_storage[:MAX_REPORTED]:
        ctx.error("hdf5.external_storage", f"The HDF5 dataset {text} keeps its data in an external file.")


def _check_keras_attribute(value: object, attribute: str, ctx: ScanContext) -> None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        ctx.error("keras.config_invalid", f"The {attribute} attribute is not a JSON string.")
        return
    try:
        config = json.loads(value)
    except (ValueError, RecursionError):
        ctx.error("keras.config_invalid", f"The {attribute} attribute is not valid JSON.")
        return
    check_keras_config(config, ctx, where=f"the {attribute} attribute")
