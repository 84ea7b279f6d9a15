"""The op log's entries as JSON: every entry read and written the same way, field by field.

Each field of an entry class (log.py) names, in its metadata, a kind of value; the codec of
that kind writes it, and reads it back trusting nothing: its type and size, and what it
refers to (a name must be alive, a uid unique). What ties fields of one entry together (an
op's operands and parameters against the catalogue, what a delete leaves behind) is one check
per entry type, in ``_ENTRY_CHECKS``. Messages say what and where: ``session.json: entry 12
(op 'sum'): parameter 'dim' must be ...``.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from . import catalogue, param_kinds
from . import limits as table
from .document import RESERVED_NAMES, SessionError
from .log import ENTRY_TYPES, Delete, Entry, Leaf, Loop, Op, Rename, operand_counts

SESSION = "session.json"
#: The dtypes gradviz has; nothing else is read or written.
DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")
MAX_NAME = table.MAX_NAME
MAX_SOURCE = table.MAX_SOURCE
MAX_INT = table.INT_MAX

_type_name = param_kinds.json_type_name
_short = param_kinds.short
_is_int = param_kinds.is_int


class SessionFileError(SessionError):
    """A file that can't be opened (or saved). The message says what is wrong and where."""

    def __init__(self, message: str, *, internal: bool = False) -> None:
        super().__init__(message)
        #: True when the refusal came from an unexpected exception rather than a check.
        self.internal = internal


def fail(where: str, message: str) -> SessionFileError:
    return SessionFileError(f"{where}: {message}" if where else message)


@dataclass
class Limits:
    max_elements: int
    max_total_bytes: int


class Obj:
    """One JSON object being read: typed access with messages that say where."""

    def __init__(self, value: Any, where: str, keys: Iterable[str], optional: Iterable[str] = ()) -> None:
        if not isinstance(value, dict):
            raise fail(where, f"expected an object, found {_type_name(value)}")
        keys, optional = set(keys), set(optional)
        for k in value:
            if k not in keys and k not in optional:
                raise fail(where, f"unknown field {_short(k)}")
        for k in sorted(keys):
            if k not in value:
                raise fail(where, f"missing field '{k}'")
        self.value, self.where = value, where

    def get(self, key: str, check: Callable[[Any], bool], expected: str, default: Any = None) -> Any:
        if key not in self.value:
            return default
        v = self.value[key]
        if not check(v):
            raise fail(self.where, f"'{key}' must be {expected}, found {_type_name(v)} {_short(v)}")
        return v

    def text(self, key: str, max_len: int = MAX_NAME, default: Any = None) -> str:
        v = self.get(key, lambda x: isinstance(x, str), "a string", default)
        if isinstance(v, str) and len(v) > max_len:
            raise fail(self.where, f"'{key}' is longer than {max_len:,} characters")
        return v

    def flag(self, key: str, default: Any = None) -> bool:
        return self.get(key, lambda x: isinstance(x, bool), "true or false", default)

    def integer(self, key: str, lo: int = 0, hi: int = MAX_INT) -> int:
        v = self.get(key, _is_int, "an integer")
        if not lo <= v <= hi:
            raise fail(self.where, f"'{key}' is {v}, outside {lo}..{hi}")
        return v


def check_name(name: str, where: str, what: str, *, hidden: bool = False) -> None:
    """Names as Session.check_name allows them; hidden intermediates may start with _."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise fail(where, f"{what} {_short(name)} is not a valid name")
    if not hidden and name.startswith("_"):
        raise fail(where, f"{what} {_short(name)} starts with _, which is reserved for hidden intermediates")
    if name in RESERVED_NAMES:
        raise fail(where, f"{what} {_short(name)} is reserved")


def check_int(v: Any, where: str, what: str) -> None:
    try:
        param_kinds.check_int(v, where, what)
    except param_kinds.ParamError as e:
        raise SessionFileError(str(e)) from None


# --- arrays ------------------------------------------------------------------------------------------
@dataclass
class ArraySpec:
    """An array a file declares (in session.json) before its data is read (from arrays.npz)."""

    key: str
    dtype: np.dtype
    shape: tuple[int, ...]
    where: str

    @property
    def nbytes(self) -> int:
        return param_kinds.elements(self.shape) * self.dtype.itemsize


def _dtype_name(arr: np.ndarray, where: str) -> str:
    name = arr.dtype.name
    if name not in DTYPES or arr.dtype.hasobject:
        raise SessionFileError(f"can't save {where}: dtype {arr.dtype} is not one of gradviz's dtypes")
    return name


def array_ref(arr: Any, key: str, arrays: dict[str, np.ndarray], where: str) -> dict[str, Any]:
    if not isinstance(arr, np.ndarray):
        raise SessionFileError(f"can't save {where}: its value is not an array")
    name = _dtype_name(arr, where)
    arrays[key] = np.asarray(arr, dtype=arr.dtype.newbyteorder("<"), order="C")
    return {"array": key, "dtype": name, "shape": [int(d) for d in arr.shape]}


def array_spec(value: Any, key: str, where: str, limits: Limits, field: str = "value") -> ArraySpec:
    label = where.removeprefix(f"{SESSION}: ")
    where = f"{where}: {field}"
    obj = Obj(value, where, ("array", "dtype", "shape"))
    got = obj.text("array")
    if got != key:
        raise fail(where, f"array key must be {key!r}, found {_short(got)}")
    dt = obj.text("dtype")
    if dt not in DTYPES:
        raise fail(where, f"dtype {_short(dt)} is not one of gradviz's dtypes ({', '.join(DTYPES)})")
    shape = obj.get("shape", lambda x: isinstance(x, list), "a list of sizes")
    if len(shape) > table.MAX_NDIM:
        raise fail(where, f"shape has {len(shape)} dimensions, more than {table.MAX_NDIM}")
    for d in shape:
        if not _is_int(d) or d < 0:
            raise fail(where, f"shape {_short(shape)} must hold sizes ≥ 0")
    n = param_kinds.elements(shape)
    if n > limits.max_elements:
        raise fail(
            where,
            f"shape {_short(shape)} has {n:,} elements, more than this session's limit of {limits.max_elements:,}",
        )
    return ArraySpec(key, np.dtype(dt), tuple(shape), f"{label} {field}")


# --- the names a log defines as it runs --------------------------------------------------------------
class Names:
    """The names the log defines as it runs, for checking references before replay."""

    def __init__(self, raw_entries: list[Any]) -> None:
        self.live: dict[str, int] = {}  # name -> uid
        self.live_uids: set[int] = set()
        self.users: dict[int, set[int]] = {}  # uid -> uids of live ops that use it
        self.uids: set[int] = set()
        # Where each name is defined later in the log, to call a forward reference a cycle.
        self.defined_at: dict[str, list[int]] = {}
        self.fake_uid = 0  # uids given the names a Loop leaves (below 0; see _check_loop)
        for j, raw in enumerate(raw_entries):
            kind = raw.get("kind") if isinstance(raw, dict) else None
            cls = ENTRY_TYPES.get(kind) if isinstance(kind, str) else None
            for name, field_codec, _ in _FIELDS[cls] if cls is not None else ():
                if field_codec.defines and isinstance(raw.get(name), str):
                    self.defined_at.setdefault(raw[name], []).append(j)

    def need(self, name: str, i: int, where: str, what: str, *, own: str | None = None) -> int:
        if name in self.live:
            return self.live[name]
        if own is not None and name == own:
            raise fail(where, f"{what} '{name}' is the op's own result: a cycle")
        later = [j for j in self.defined_at.get(name, []) if j > i]
        if later:
            raise fail(
                where,
                f"{what} '{name}' is not defined yet (entry {later[0] + 1} defines it): a cycle or a log out of order",
            )
        raise fail(where, f"{what} '{name}' is not defined")

    def define(self, name: str, uid: int, where: str) -> None:
        if name in self.live:
            raise fail(where, f"the name '{name}' is already taken")
        self.live[name] = uid
        self.live_uids.add(uid)

    def drop(self, name: str) -> None:
        self.live_uids.discard(self.live.pop(name))

    def forget(self, name: str) -> None:
        """``name`` no longer names its tensor, which lives on under another (a rename)."""
        self.live.pop(name, None)


class Unchecked(Names):
    """No references checked: for one entry being appended, which the session checks itself."""

    def __init__(self) -> None:
        super().__init__([])

    def need(self, name: str, i: int, where: str, what: str, *, own: str | None = None) -> int:
        return 0

    def define(self, name: str, uid: int, where: str) -> None:
        pass

    def drop(self, name: str) -> None:
        pass

    def forget(self, name: str) -> None:
        pass


# --- one codec per kind of field --------------------------------------------------------------------
@dataclass
class _Reading:
    """What a field's codec knows while it reads entry ``i``: the raw object, the fields read
    so far, the uids its references resolved to, and the arrays it declares."""

    i: int
    where: str
    obj: Obj
    names: Names
    limits: Limits
    array_keys: dict[str, str]  # field -> the letter of its array's key
    values: dict[str, Any] = field(default_factory=dict)
    uids: dict[str, int] = field(default_factory=dict)  # a reference field -> the uid it names
    specs: list[ArraySpec] = field(default_factory=list)
    operand_uids: list[int] = field(default_factory=list)  # an op's tensor operands


class FieldCodec:
    """How one kind of field is written to JSON and read back (checked)."""

    defines = False  # the field names a tensor the entry defines (for forward references)
    # A field files made before it may lack: written only when it holds something (so a file
    # without one is what older gradviz wrote), read as empty when absent.
    may_be_absent = False

    def encode(self, value: Any, key: str, i: int, arrays: dict[str, np.ndarray], where: str) -> Any:
        return value

    def decode(self, key: str, r: _Reading) -> Any:
        raise NotImplementedError


class _Uid(FieldCodec):
    def decode(self, key: str, r: _Reading) -> Any:
        uid = r.obj.integer(key, 1, table.MAX_UID)
        if uid in r.names.uids:
            raise fail(r.where, f"uid {uid} is used twice")
        r.names.uids.add(uid)
        return uid


class _Name(FieldCodec):
    """A name the entry gives a tensor. Hidden ones (``_7``) are allowed here; an op that is not
    hidden refuses them in its own check."""

    defines = True

    def __init__(self, what: str) -> None:
        self.what = what

    def decode(self, key: str, r: _Reading) -> Any:
        name = r.obj.text(key)
        check_name(name, r.where, self.what, hidden=True)
        return name


class _Ref(FieldCodec):
    """The name of a live tensor."""

    def decode(self, key: str, r: _Reading) -> Any:
        name = r.obj.text(key)
        r.uids[key] = r.names.need(name, r.i, r.where, "target" if key == "target" else "name")
        return name


class _Refs(FieldCodec):
    """None (every tensor) or a list of live tensors' names."""

    def encode(self, value: Any, key: str, i: int, arrays: dict[str, np.ndarray], where: str) -> Any:
        return None if value is None else list(value)

    def decode(self, key: str, r: _Reading) -> Any:
        got = r.obj.get(key, lambda x: x is None or isinstance(x, list), "null or a list of names")
        if got is None:
            return None
        for n in got:
            if not isinstance(n, str) or len(n) > MAX_NAME:
                raise fail(r.where, f"'{key}' must hold tensor names, found {_short(n)}")
            r.names.need(n, r.i, r.where, "name")
        return tuple(got)


class _Flag(FieldCodec):
    def encode(self, value: Any, key: str, i: int, arrays: dict[str, np.ndarray], where: str) -> Any:
        return bool(value)

    def decode(self, key: str, r: _Reading) -> Any:
        return r.obj.flag(key)


class _Text(FieldCodec):
    def __init__(self, max_len: int) -> None:
        self.max_len = max_len

    def decode(self, key: str, r: _Reading) -> Any:
        return r.obj.text(key, self.max_len)


class _OpName(FieldCodec):
    def decode(self, key: str, r: _Reading) -> Any:
        op = r.obj.text(key)
        try:
            catalogue.get(op)
        except KeyError:
            raise fail(r.where, f"unknown operation {_short(op)}") from None
        return op


class _Args(FieldCodec):
    """An op's operands: ``["ref", name]`` or ``["const", number]``."""

    def encode(self, value: Any, key: str, i: int, arrays: dict[str, np.ndarray], where: str) -> Any:
        return [[k, v] for k, v in value]

    def decode(self, key: str, r: _Reading) -> Any:
        args = r.obj.get(key, lambda x: isinstance(x, list), "a list")
        if len(args) > table.MAX_OPERANDS:
            raise fail(r.where, f"{len(args):,} operands, more than the {table.MAX_OPERANDS:,} allowed")
        spec = catalogue.get(r.values["op"])
        out: list[tuple[str, Any]] = []
        used: list[int] = []
        for a in args:
            if not (isinstance(a, list) and len(a) == 2 and a[0] in ("ref", "const")):
                raise fail(r.where, f'operand {_short(a)} must be ["ref", name] or ["const", number]')
            k, v = a
            if k == "ref":
                if not isinstance(v, str) or len(v) > MAX_NAME:
                    raise fail(r.where, f"operand {_short(v)} must be a tensor's name")
                used.append(r.names.need(v, r.i, r.where, "operand", own=r.values["name"]))
            else:
                if not isinstance(v, (bool, int, float)):
                    raise fail(r.where, f"constant operand {_short(v)} must be a number")
                if not spec.scalar_operands:
                    raise fail(r.where, f"{spec.name} takes tensors only, not the constant {_short(v)}")
                if _is_int(v):
                    check_int(v, r.where, "constant operand")
            out.append((k, v))
        r.operand_uids = used
        return tuple(out)


class _Params(FieldCodec):
    """An op's parameters, each checked by its kind (param_kinds)."""

    def encode(self, value: Any, key: str, i: int, arrays: dict[str, np.ndarray], where: str) -> Any:
        return dict(value)

    def decode(self, key: str, r: _Reading) -> Any:
        params = r.obj.get(key, lambda x: isinstance(x, dict), "an object")
        spec = catalogue.get(r.values["op"])
        n = len(r.values["args"])
        for pname, pvalue in params.items():
            try:
                p = spec.param(pname)
            except KeyError:
                raise fail(r.where, f"{spec.name} has no parameter {_short(pname)}") from None
            check_param(p, pvalue, r.where, n, r.limits)
        for p in spec.params:
            if p.required and p.name not in params:
                raise fail(r.where, f"{spec.name} needs parameter '{p.name}'")
        return params


def check_param(p: catalogue.Param, v: Any, where: str, n_operands: int, limits: Limits) -> None:
    kind = param_kinds.KINDS.get(p.kind)
    if kind is None:  # a kind the catalogue added and this reader does not know
        raise fail(where, f"parameter '{p.name}' has kind {p.kind!r}, which this version can't check")
    try:
        kind.validate(v, where, p, n_operands=n_operands, max_elements=limits.max_elements)
    except param_kinds.ParamError as e:
        raise SessionFileError(str(e)) from None


class _Array(FieldCodec):
    """An array, stored in arrays.npz under ``<letter><entry index>``; ``optional``: or null."""

    def __init__(self, optional: bool) -> None:
        self.optional = optional

    def encode(self, value: Any, key: str, i: int, arrays: dict[str, np.ndarray], where: str) -> Any:
        return None if value is None and self.optional else array_ref(value, key, arrays, where)

    def decode(self, key: str, r: _Reading) -> Any:
        raw = r.obj.value[key]
        if raw is None and self.optional:
            return None
        spec = array_spec(raw, _array_key(r.array_keys[key], r.i), r.where, r.limits, key)
        r.specs.append(spec)
        return spec


class _List(FieldCodec):
    """A list (a tuple in the entry) of strings, each checked by ``item``: a Loop's names,
    references and function sources."""

    def __init__(self, item: Callable[[str, _Reading], None], max_len: int = MAX_NAME) -> None:
        self.item, self.max_len = item, max_len

    def encode(self, value: Any, key: str, i: int, arrays: dict[str, np.ndarray], where: str) -> Any:
        return list(value)

    def decode(self, key: str, r: _Reading) -> Any:
        got = r.obj.get(key, lambda x: isinstance(x, list), "a list")
        if len(got) > table.MAX_ENTRIES:
            raise fail(r.where, f"'{key}' holds {len(got):,} items, more than {table.MAX_ENTRIES:,}")
        for v in got:
            if not isinstance(v, str) or len(v) > self.max_len:
                raise fail(
                    r.where,
                    f"'{key}' must hold strings of at most {self.max_len:,} characters, found {_short(v)}",
                )
            self.item(v, r)
        return tuple(got)


def _live_ref(name: str, r: _Reading) -> None:
    r.names.need(name, r.i, r.where, "name")


def _new_name(name: str, r: _Reading) -> None:
    check_name(name, r.where, "name", hidden=True)


class _Count(FieldCodec):
    def decode(self, key: str, r: _Reading) -> Any:
        return r.obj.integer(key, 0, MAX_INT)


class _UidRange(FieldCodec):
    """``[first, next)``: the uids a Loop's tensors took."""

    def encode(self, value: Any, key: str, i: int, arrays: dict[str, np.ndarray], where: str) -> Any:
        return [int(value[0]), int(value[1])]

    def decode(self, key: str, r: _Reading) -> Any:
        got = r.obj.get(
            key, lambda x: isinstance(x, list) and len(x) == 2 and all(map(_is_int, x)), "[first, next]"
        )
        if not 1 <= got[0] <= got[1] <= table.MAX_UID + 1:
            raise fail(r.where, f"'{key}' {_short(got)} must be uids, first ≤ next")
        return (got[0], got[1])


class _Json(FieldCodec):
    """An object of plain JSON values (what a Loop's body reads from the console); what they
    mean is checked when the loop replays."""

    def decode(self, key: str, r: _Reading) -> Any:
        return r.obj.get(key, lambda x: isinstance(x, dict), "an object")


class _Scope(FieldCodec):
    """An op's module calls and name scopes: ``[[name, class name or "", call key], ...]``."""

    may_be_absent = True

    def encode(self, value: Any, key: str, i: int, arrays: dict[str, np.ndarray], where: str) -> Any:
        return [list(level) for level in value]

    def decode(self, key: str, r: _Reading) -> Any:
        if key not in r.obj.value:
            return ()
        got = r.obj.get(key, lambda x: isinstance(x, list), "a list")
        if len(got) > table.MAX_SCOPE_DEPTH:
            raise fail(r.where, f"'{key}' holds {len(got)} levels, more than {table.MAX_SCOPE_DEPTH}")
        for level in got:
            if not (
                isinstance(level, list)
                and len(level) == 3
                and all(isinstance(v, str) and len(v) <= MAX_NAME for v in level)
                and level[0]
                and level[2]
            ):
                raise fail(
                    r.where,
                    f"'{key}' must hold [name, class name, call] triples of strings, found {_short(level)}",
                )
        return tuple(tuple(level) for level in got)


class _Digest(FieldCodec):
    def decode(self, key: str, r: _Reading) -> Any:
        v = r.obj.text(key, 64)
        if len(v) != 64 or any(c not in "0123456789abcdef" for c in v):
            raise fail(r.where, f"'{key}' must be a sha256 in hex, found {_short(v)}")
        return v


#: The kinds of field an entry class's fields name in their metadata (``json``).
FIELD_CODECS: dict[str, FieldCodec] = {
    "uid": _Uid(),
    "name": _Name("name"),
    "new_name": _Name("new name"),
    "ref": _Ref(),
    "refs?": _Refs(),
    "flag": _Flag(),
    "source": _Text(MAX_SOURCE),
    "op": _OpName(),
    "args": _Args(),
    "params": _Params(),
    "array": _Array(optional=False),
    "array?": _Array(optional=True),
    "count": _Count(),
    "uid_range": _UidRange(),
    "json": _Json(),
    "sources": _List(lambda v, r: None, MAX_SOURCE),
    "refs": _List(_live_ref),
    "names": _List(_new_name),
    "digest": _Digest(),
    "scope": _Scope(),
}


# --- what ties an entry's fields together, and to the log, one check per entry type -----------------
def _check_op(values: dict[str, Any], r: _Reading) -> None:
    spec = catalogue.get(values["op"])
    name = values["name"]
    if not values["hidden"] and name.startswith("_"):
        # A hidden op, a hidden leaf (a constant never named) and a tensor renamed away
        # (Session.hide) carry reserved _N names; a named op may not.
        check_name(name, r.where, "name")
    n = len(values["args"])
    if spec.arity is not None and n != spec.arity:
        raise fail(
            r.where, f"{spec.name} takes {spec.arity} operand{'s' if spec.arity != 1 else ''}, found {n}"
        )
    fewest, most = operand_counts(spec)
    if not fewest <= n <= most:
        raise fail(r.where, f"{spec.name} can't take {n} operands")
    used = r.operand_uids
    if not used and spec.arity is not None and spec.arity > 0:
        raise fail(r.where, f"{spec.name} needs at least one tensor operand")
    r.names.define(name, values["uid"], r.where)
    for u in used:
        r.names.users.setdefault(u, set()).add(values["uid"])


def _check_leaf(values: dict[str, Any], r: _Reading) -> None:
    r.names.define(values["name"], values["uid"], r.where)


def _check_delete(values: dict[str, Any], r: _Reading) -> None:
    name, uid = values["name"], r.uids["name"]
    users = [u for u in r.names.users.get(uid, ()) if u in r.names.live_uids]
    if users:
        by_uid = {u: k for k, u in r.names.live.items()}
        who = ", ".join(f"'{by_uid[u]}'" for u in sorted(users))
        raise fail(r.where, f"deletes '{name}', which {who} still depend{'s' if len(users) == 1 else ''} on")
    r.names.drop(name)


def _check_rename(values: dict[str, Any], r: _Reading) -> None:
    # Renaming to itself is "already taken", as replay says; the uid lives on under the new name.
    r.names.define(values["new"], r.uids["old"], r.where)
    r.names.forget(values["old"])


def _check_loop(values: dict[str, Any], r: _Reading) -> None:
    # What its tensors' uids are is known only by running it: the names it leaves get uids of
    # their own here (below 0), for the checks of the entries after it.
    for name in values["removes_"]:
        if name in r.names.live:
            r.names.drop(name)
    for name in values["defines_"]:
        r.names.fake_uid -= 1
        r.names.define(name, r.names.fake_uid, r.where)


_ENTRY_CHECKS: dict[type[Entry], Callable[[dict[str, Any], _Reading], None]] = {
    Leaf: _check_leaf,
    Op: _check_op,
    Delete: _check_delete,
    Rename: _check_rename,
    Loop: _check_loop,
}


# --- entries -----------------------------------------------------------------------------------------
def _array_key(letter: str, index: int) -> str:
    return f"{letter}{index}"


# Each entry type's fields with their codecs, looked up once (a log has thousands of entries).
_FIELDS: dict[type, tuple[tuple[str, FieldCodec, str], ...]] = {
    cls: tuple((f.name, FIELD_CODECS[f.metadata["json"]], f.metadata["array_key"]) for f in fields(cls))
    for cls in ENTRY_TYPES.values()
}


def encode_entry(i: int, entry: Entry, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Entry ``i`` as JSON; its arrays go to ``arrays`` under their keys."""
    where = f"entry {i + 1}"
    if ENTRY_TYPES.get(getattr(type(entry), "kind", "")) is not type(entry):
        raise SessionFileError(f"can't save {where}: unknown entry {type(entry).__name__}")
    out: dict[str, Any] = {"kind": entry.kind}
    for name, field_codec, letter in _FIELDS[type(entry)]:
        value = getattr(entry, name)
        if field_codec.may_be_absent and not value:
            continue
        out[name] = field_codec.encode(value, _array_key(letter, i), i, arrays, where)
    return out


class _Shown(dict):
    """A raw entry's fields as an entry's label shows them: strings cut short, others '?'."""

    def __init__(self, raw: dict[str, Any]) -> None:
        super().__init__()
        self.raw = raw

    def __missing__(self, k: str) -> str:
        v = self.raw.get(k)
        return _short(v).strip('"') if isinstance(v, str) else "?"


def entry_label(i: int, raw: Any) -> str:
    """'entry 7 (op 'mul')', from whatever the raw entry holds, for messages."""
    base = f"entry {i + 1}"
    if not isinstance(raw, dict):
        return base
    kind = raw.get("kind")
    cls = ENTRY_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is not None:
        return f"{base} ({cls.label.format_map(_Shown(raw))})"
    if isinstance(kind, str) and len(kind) < 40:
        return f"{base} ({kind})"
    return base


def decode_entry(i: int, raw: Any, names: Names, limits: Limits) -> tuple[Entry, list[ArraySpec]]:
    """Check entry ``i`` of a log (its fields, and its references against ``names``). Its
    arrays are :class:`ArraySpec` until :func:`build` puts the arrays read in their place."""
    where = f"{SESSION}: {entry_label(i, raw)}"
    if not isinstance(raw, dict):
        raise fail(where, f"expected an object, found {_type_name(raw)}")
    kind = raw.get("kind")
    cls = ENTRY_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise fail(where, f"unknown kind {_short(kind)}; expected one of {', '.join(ENTRY_TYPES)}")
    entry_fields = _FIELDS[cls]
    obj = Obj(
        raw,
        where,
        ("kind", *(name for name, c, _ in entry_fields if not c.may_be_absent)),
        (name for name, c, _ in entry_fields if c.may_be_absent),
    )
    r = _Reading(i, where, obj, names, limits, {name: letter for name, _, letter in entry_fields})
    for name, field_codec, _ in entry_fields:
        r.values[name] = field_codec.decode(name, r)
    check = _ENTRY_CHECKS.get(cls)
    if check is not None:
        check(r.values, r)
    return cls(**r.values), r.specs


def decode_entries(raw_entries: Any, limits: Limits) -> tuple[list[Entry], list[ArraySpec]]:
    """Check the log's structure and references; returns its entries (arrays as specs)."""
    if not isinstance(raw_entries, list):
        raise fail(SESSION, f"'entries' must be a list, found {_type_name(raw_entries)}")
    if len(raw_entries) > table.MAX_ENTRIES:
        raise fail(SESSION, f"{len(raw_entries):,} entries, more than the {table.MAX_ENTRIES:,} allowed")
    names = Names(raw_entries)
    out: list[Entry] = []
    specs: list[ArraySpec] = []
    total = 0
    for i, raw in enumerate(raw_entries):
        entry, new = decode_entry(i, raw, names, limits)
        for spec in new:
            specs.append(spec)
            total += spec.nbytes
        if total > limits.max_total_bytes:
            where = f"{SESSION}: {entry_label(i, raw)}"
            raise fail(where, f"the arrays would take more than {limits.max_total_bytes:,} bytes")
        out.append(entry)
    return out, specs


def build(entries: list[Entry], arrays: dict[str, np.ndarray]) -> list[Entry]:
    """Decoded entries with the arrays read in place of their specs."""
    out = []
    for e in entries:
        read = {
            f.name: arrays[spec.key] for f in fields(e) if isinstance(spec := getattr(e, f.name), ArraySpec)
        }
        out.append(replace(e, **read) if read else e)
    return out
