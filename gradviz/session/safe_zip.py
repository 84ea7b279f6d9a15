"""Reading a ``.gradviz`` zip from a stranger, safely: the checks a session file and a PyTorch
snapshot file share.

Both are zips with a ``manifest.json`` and an ``arrays.npz``. Before anything is decompressed the
zip's directory is checked (names, methods, sizes, ratios, a budget for everything unpacked);
every read is capped; JSON is parsed with duplicate keys refused; each array's ``.npy`` header is
compared with what the file declared before its data is read, and nothing is unpickled. Whatever
goes wrong becomes a :class:`SessionFileError` that says what and where (:func:`guarded`).
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import stat
import struct
import tokenize
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from . import limits as table
from .codec import ArraySpec, Limits, SessionFileError, fail

MANIFEST = "manifest.json"
ARRAYS = "arrays.npz"
SESSION = "session.json"  # the member that declares a session's arrays (named in messages)


def json_bytes(obj: Any, what: str) -> bytes:
    try:
        return json.dumps(obj, ensure_ascii=False, indent=1, allow_nan=True).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise SessionFileError(f"can't save: {what} holds something that is not plain data ({e})") from None


def check_members(
    zf: zipfile.ZipFile,
    expected: Iterable[str],
    where: str,
    limits: Limits,
    budget: list[int],
    optional: Iterable[str] = (),
    only: set[str] | None = None,
) -> dict[str, zipfile.ZipInfo]:
    """Check a zip's directory before reading anything: names, methods, sizes and ratios
    (``only``: just the members so named, the rest left for a later check)."""
    expected, optional = list(expected), list(optional)
    every = expected + optional
    allowed = ", ".join(every[:6]) + (f" and {len(every) - 6} more" if len(every) > 6 else "")
    allowed = f"only {allowed} belong here" if every else "nothing belongs here"
    wanted = set(every)
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        name = info.filename
        if only is not None and name not in only:
            continue
        shown = name if len(name) <= 80 else name[:77] + "..."
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or ":" in name:
            raise fail(where, f"member {shown!r} is a path outside the file; refused")
        if info.is_dir() or "/" in name or "\\" in name:
            raise fail(where, f"unexpected member {shown!r} ({allowed})")
        if name not in wanted:
            raise fail(where, f"unexpected member {shown!r} ({allowed})")
        if name in infos:
            raise fail(where, f"member {shown!r} appears twice")
        if info.flag_bits & 0x1:
            raise fail(where, f"member {shown!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise fail(
                where,
                f"member {shown!r} uses compression method {info.compress_type}; only stored and deflated are read",
            )
        if info.file_size < 0 or info.compress_size < 0:
            raise fail(where, f"member {shown!r} has a negative size")
        if info.file_size > 0 and (
            info.compress_size == 0 or info.file_size / info.compress_size > table.MAX_RATIO
        ):
            ratio = "∞" if info.compress_size == 0 else f"{info.file_size / info.compress_size:,.0f}"
            raise fail(
                where,
                f"member {shown!r} claims {info.file_size:,} bytes from {info.compress_size:,} "
                f"(ratio {ratio}:1, more than deflate can do): a zip bomb? refused",
            )
        budget[0] += info.file_size
        if budget[0] > limits.max_total_bytes:
            raise fail(
                where,
                f"the file would unpack to more than {limits.max_total_bytes:,} bytes "
                f"(member {shown!r} alone claims {info.file_size:,}); refused",
            )
        infos[name] = info
    missing = [n for n in expected if n not in infos]
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise fail(where, f"missing {', '.join(missing[:5])}{more}")
    return infos


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, where: str) -> bytes:
    if info.file_size > cap:
        raise fail(where, f"{info.file_size:,} bytes, more than the {cap:,} allowed")
    with zf.open(info) as f:
        data = f.read(cap + 1)
    if len(data) != info.file_size:
        raise fail(
            where, f"holds {len(data):,} bytes but its directory says {info.file_size:,}: the file is damaged"
        )
    return data


def parse_json(data: bytes, where: str) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise fail(where, f"not UTF-8 text (byte {e.start})") from None

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise fail(where, f"key {k!r} appears twice in one object")
            out[k] = v
        return out

    try:
        return json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as e:
        raise fail(where, f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise fail(where, "JSON nested too deeply") from None
    except ValueError as e:  # e.g. an integer with thousands of digits
        raise fail(where, f"invalid JSON: {e}") from None


def read_npy_header(f: IO[bytes], where: str) -> tuple[np.dtype, tuple[int, ...], bool]:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
    except ValueError as e:
        raise fail(where, f"not a .npy array ({e})") from None
    try:
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f, max_header_size=table.MAX_NPY_HEADER)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(f, max_header_size=table.MAX_NPY_HEADER)
        else:
            raise fail(where, f".npy version {version} is not read")
    except (ValueError, SyntaxError, TypeError, struct.error, tokenize.TokenError, RecursionError) as e:
        raise fail(where, f"damaged .npy header ({type(e).__name__}: {str(e)[:100]})") from None
    return dtype, tuple(shape), bool(fortran)


def load_arrays(
    npz_bytes: bytes,
    specs: list[ArraySpec],
    limits: Limits,
    budget: list[int],
    member: str = ARRAYS,
    declared_in: str = SESSION,
) -> dict[str, np.ndarray]:
    """The arrays ``specs`` declares, read from ``npz_bytes`` after each ``.npy`` header was
    compared with its declaration (dtype, shape, size); never unpickles anything."""
    ARRAYS = member  # noqa: N806 (the member named in every message below)
    want = {s.key + ".npy": s for s in specs}
    if not npz_bytes.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise fail(ARRAYS, "not a .npz archive (it does not start like a zip)")
    try:
        inner = zipfile.ZipFile(io.BytesIO(npz_bytes))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
        raise fail(ARRAYS, f"not a valid .npz archive ({e})") from None
    with inner:
        infos = check_members(inner, want, ARRAYS, limits, budget)
        for member, spec in want.items():
            where = f"{ARRAYS}: {spec.key}, the {spec.where}"
            info = infos[member]
            with inner.open(info) as f:
                dtype, shape, _ = read_npy_header(f, where)
                offset = f.tell()
            if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
                raise fail(where, f"holds Python objects (dtype {dtype}); pickled data is never loaded")
            if dtype.newbyteorder("=") != spec.dtype.newbyteorder("=") or dtype.kind != spec.dtype.kind:
                raise fail(where, f"dtype is {dtype}, but {declared_in} says {spec.dtype}")
            if shape != spec.shape:
                raise fail(where, f"shape is {list(shape)}, but {declared_in} says {list(spec.shape)}")
            if info.file_size != offset + spec.nbytes:
                raise fail(
                    where,
                    f"holds {info.file_size - offset:,} data bytes where {spec.nbytes:,} belong: the file is damaged",
                )
        try:
            with np.load(io.BytesIO(npz_bytes), allow_pickle=False) as npz:
                arrays = {}
                for spec in specs:
                    arr = npz[spec.key]
                    if arr.dtype.newbyteorder("=") != spec.dtype or arr.shape != spec.shape:
                        raise fail(ARRAYS, f"array {spec.key} changed while it was read")
                    arr = arr.astype(spec.dtype, order="C", copy=False)  # native byte order
                    if not (arr.flags.c_contiguous and arr.flags.writeable and arr.flags.owndata):
                        arr = arr.copy(order="C")
                    arrays[spec.key] = arr
        except ValueError as e:
            if "allow_pickle" in str(e):
                raise fail(ARRAYS, "holds pickled Python objects; pickled data is never loaded") from None
            raise fail(ARRAYS, f"damaged array data ({e})") from None
    return arrays


# Exceptions a damaged zip or array can raise from the standard library and numpy. Every one of
# them means "this file is broken", never "gradviz is broken".
DAMAGE = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    struct.error,
    OverflowError,
)


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    return "is not a regular file"


def open_regular(path: str | os.PathLike[str], max_bytes: int) -> IO[bytes]:
    """Open ``path`` for reading only if it is a regular file (a symlink to one is fine): a
    FIFO would block the open or the read forever and /dev/zero never ends. O_NONBLOCK makes
    opening a FIFO return at once; fstat then looks at what was really opened."""
    flags = (
        os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    )
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SessionFileError(f"{_file_kind(st.st_mode)}; only regular files are opened")
        if st.st_size > max_bytes:
            raise SessionFileError(f"{st.st_size:,} bytes, more than the {max_bytes:,} allowed")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # no effect on a regular file; plain reads from here
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def guarded(name: str, read: Callable[[], Any]) -> Any:
    try:
        return read()
    except SessionFileError as e:
        if name and not str(e).startswith(name):
            raise SessionFileError(f"{name}: {e}", internal=e.internal) from None
        raise
    except FileNotFoundError:
        raise SessionFileError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise SessionFileError(f"{name}: is a folder, not a file") from None
    except PermissionError:
        raise SessionFileError(f"{name}: permission denied") from None
    except OSError as e:
        if e.errno == errno.ENXIO:  # a socket: nothing to open
            raise SessionFileError(f"{name}: is not a regular file; only regular files are opened") from None
        raise SessionFileError(
            f"{name}: the file is damaged or could not be read ({type(e).__name__}: {e})"
        ) from None
    except MemoryError:
        raise SessionFileError(f"{name}: not enough memory to open it") from None
    except DAMAGE as e:
        raise SessionFileError(
            f"{name}: the file is damaged or truncated ({type(e).__name__}: {e})"
        ) from None
    except RecursionError:
        raise SessionFileError(f"{name}: nested too deeply") from None
    except Exception as e:  # a stranger's file must never crash the app
        raise SessionFileError(
            f"{name}: could not read the file (internal error {type(e).__name__}: {e})", internal=True
        ) from None


@dataclass
class Archive:
    """An open ``.gradviz`` zip whose directory passed :func:`check_members`: its members'
    entries, the unpacking budget spent so far, and its manifest as checked."""

    zf: zipfile.ZipFile
    infos: dict[str, zipfile.ZipInfo]
    budget: list[int]
    manifest: dict[str, Any]

    def json(self, member: str, cap: int) -> Any:
        """A JSON member, read within ``cap`` bytes."""
        return parse_json(read_member(self.zf, self.infos[member], cap, member), member)


@contextlib.contextmanager
def open_archive(
    source: IO[bytes],
    members: Iterable[str],
    limits: Limits,
    check_manifest: Callable[[Any], dict[str, Any]],
    *,
    what: str,
    optional: Iterable[str] = (),
) -> Iterator[Archive]:
    """Open ``source`` as a zip and check its manifest, then its directory. The manifest comes
    first, so that a file of the other kind is named as such ("a PyTorch snapshot, not a
    session") rather than refused for a member it does not expect; ``what`` names the kind in
    the message for something that is not a zip at all."""
    try:
        zf = zipfile.ZipFile(source)
    except zipfile.BadZipFile as e:
        raise SessionFileError(f"not {what}: not a zip file, or a damaged one ({e})") from None
    with zf:
        budget = [0]
        manifest = None
        if MANIFEST in zf.namelist():
            check_members(zf, [], "", limits, [0], [MANIFEST], only={MANIFEST})
            manifest = check_manifest(
                parse_json(
                    read_member(zf, zf.getinfo(MANIFEST), table.MAX_MANIFEST_BYTES, MANIFEST), MANIFEST
                )
            )
        infos = check_members(zf, members, "", limits, budget, optional)
        assert manifest is not None  # check_members refuses a zip without one
        yield Archive(zf, infos, budget, manifest)
