"""Thousands of broken and hostile files fed to the loader: each one is either a valid session
or a clean SessionFileError, never another exception, a crash or a hang."""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import warnings
import zipfile
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradviz.session import fileformat as ff
from gradviz.session.document import Session
from gradviz.session.fileformat import SessionFileError

LIMITS = {"max_elements": 10_000, "max_total_bytes": 4_000_000}
# GRADVIZ_FUZZ_EXAMPLES=5000 fuzzes longer, with fresh random files each run.
_DEEP = int(os.environ.get("GRADVIZ_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=_DEEP or 120,
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=not _DEEP,  # in CI the same few thousand files every run: a failure reproduces
    database=None,
)


def _base_session() -> Session:
    s = Session(max_elements=LIMITS["max_elements"])
    s.add_leaf("x", np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.float32), requires_grad=True)
    s.add_leaf("n", np.array([1, 2, 3], np.int64))
    s.add_leaf("w", 0.5, requires_grad=True)
    s.apply("mul", ["x", "w"], name="y")
    s.apply("add", ["y", 1.5], name="z", hidden=False)
    s.apply("sum", ["z"], {"dim": [1], "keepdim": False}, name="rows")
    s.apply("index", ["rows"], {"index": [{"slice": [0, 1, None]}]}, name="first")
    s.apply("sum", ["first"], name="loss")
    s.backward("loss", retain_graph=True)
    s.retain_grad("y")
    s.backward("loss", gradient=2.0)
    s.rename("loss", "L")
    s.zero_grad(["w"], set_to_none=False)
    s.view = {"mode": "autograd", "statistic": "norm", "log_scale": False, "selection": ["L"], "zoom": 1.0}
    return s


BASE = _base_session()
VALID = ff.to_bytes(BASE.entries, BASE.view)
with zipfile.ZipFile(io.BytesIO(VALID)) as _zf:
    MANIFEST = json.loads(_zf.read(ff.MANIFEST))
    DOC = json.loads(_zf.read(ff.SESSION))
    NPZ = _zf.read(ff.ARRAYS)
with zipfile.ZipFile(io.BytesIO(NPZ)) as _zf:
    NPY = {i.filename: _zf.read(i) for i in _zf.infolist()}


def zip_of(members: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are part of the fuzz
        with zipfile.ZipFile(out, "w", compression=compression) as zf:
            for name, data in members:
                zf.writestr(name, data)
    return out.getvalue()


def assemble(manifest: Any = MANIFEST, doc: Any = DOC, npz: bytes = NPZ) -> bytes:
    enc = lambda v: v if isinstance(v, bytes) else json.dumps(v).encode()  # noqa: E731
    return zip_of([(ff.MANIFEST, enc(manifest)), (ff.SESSION, enc(doc)), (ff.ARRAYS, npz)])


def check(data: bytes) -> None:
    """The property: a clean refusal, or entries that a session replays or refuses cleanly."""
    start = time.monotonic()
    try:
        entries, view = ff.loads(data, **LIMITS)
    except SessionFileError as e:
        assert not e.internal, str(e)
        assert str(e).strip(), "an empty message"
    else:
        s = Session(max_elements=LIMITS["max_elements"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # nan and inf are valid values
            try:
                ff.load_into(s, entries, view)
            except SessionFileError as e:
                assert not e.internal, str(e)
                assert s.entries == ()
    assert time.monotonic() - start < 2.0, "too slow: a hang?"


# --- JSON values to plant ----------------------------------------------------------------------------
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, -1, 2**31, 2**63, -(2**63) - 1, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "x",
            "w",
            "y",
            "z",
            "L",
            "_1",
            "..",
            "../x",
            "e0",
            "g9",
            "object",
            "float32",
            "add",
            "index",
            "leaf",
            "op",
            "__import__",
            "torch",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
giant_shapes = st.lists(st.sampled_from([0, 1, 2, 3, -1, 2**31, 2**40, 2**62]), max_size=40)


def paths(v: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(v, dict):
        for k, x in v.items():
            out += paths(x, (*prefix, k))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            out += paths(x, (*prefix, i))
    return out


def set_at(doc: Any, path: tuple, value: Any, mode: str) -> Any:
    doc = json.loads(json.dumps(doc))
    if not path:
        return value
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    key = path[-1]
    if mode == "delete":
        del parent[key]
    elif mode == "insert" and isinstance(parent, list):
        parent.insert(key, value)
    elif mode == "add" and isinstance(parent, dict):
        parent[f"{key}_extra"] = value
    else:
        parent[key] = value
    return doc


DOC_PATHS = paths(DOC)
MANIFEST_PATHS = paths(MANIFEST)


# --- the fuzzers --------------------------------------------------------------------------------------
def test_every_truncation() -> None:
    for cut in range(len(VALID)):
        check(VALID[:cut])


def test_every_byte_flipped() -> None:
    for i in range(len(VALID)):
        data = bytearray(VALID)
        data[i] ^= 0x55
        check(bytes(data))


@FUZZ
@given(st.data())
def test_mutated_bytes(data: st.DataObject) -> None:
    buf = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 8))):
        op = data.draw(st.sampled_from(["set", "insert", "delete", "dup"]))
        i = data.draw(st.integers(0, max(0, len(buf) - 1)))
        if op == "set" and buf:
            buf[i] = data.draw(st.integers(0, 255))
        elif op == "insert":
            buf[i:i] = data.draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del buf[i : i + data.draw(st.integers(1, 16))]
        else:
            j = data.draw(st.integers(0, max(0, len(buf) - 1)))
            buf[i:i] = buf[j : j + 32]
    check(bytes(buf))


@FUZZ
@given(st.sampled_from(DOC_PATHS), json_values, st.sampled_from(["set", "delete", "insert", "add"]))
def test_corrupted_session_json(path: tuple, value: Any, mode: str) -> None:
    """Valid zip and CRCs, a field of session.json replaced, removed or added."""
    try:
        doc = set_at(DOC, path, value, mode)
    except (TypeError, IndexError, KeyError):
        return
    check(assemble(doc=doc))


@settings(FUZZ, max_examples=_DEEP or 60)
@given(st.lists(st.tuples(st.sampled_from(DOC_PATHS), json_values), min_size=2, max_size=5))
def test_many_corruptions_at_once(changes: list) -> None:
    doc = DOC
    for path, value in changes:
        try:
            doc = set_at(doc, path, value, "set")
        except (TypeError, IndexError, KeyError):
            continue
    check(assemble(doc=doc))


@FUZZ
@given(st.sampled_from(MANIFEST_PATHS), json_values, st.sampled_from(["set", "delete", "add"]))
def test_corrupted_manifest(path: tuple, value: Any, mode: str) -> None:
    try:
        manifest = set_at(MANIFEST, path, value, mode)
    except (TypeError, IndexError, KeyError):
        return
    check(assemble(manifest=manifest))


@FUZZ
@given(st.integers(0, len(DOC["entries"]) - 1), giant_shapes, st.sampled_from(["value", "gradient"]))
def test_giant_and_odd_shapes(i: int, shape: list, field: str) -> None:
    doc = json.loads(json.dumps(DOC))
    ref = doc["entries"][i].get(field)
    if isinstance(ref, dict):
        ref["shape"] = shape
    check(assemble(doc=doc))


@FUZZ
@given(st.data())
def test_corrupted_arrays(data: st.DataObject) -> None:
    """Arrays of other dtypes and shapes, damaged .npy headers, extra and missing members."""
    members = dict(NPY)
    name = data.draw(st.sampled_from(sorted(members)))
    choice = data.draw(
        st.sampled_from(["dtype", "shape", "header", "bytes", "drop", "extra", "object", "truncate"])
    )
    if choice == "dtype":
        dt = data.draw(
            st.sampled_from(
                ["float64", "float16", "int8", "uint8", ">f4", "complex64", "U3", "V4", "M8[s]", "i1,i2"]
            )
        )
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.zeros(data.draw(st.integers(0, 7)), dtype=dt))
        members[name] = buf.getvalue()
    elif choice == "shape":
        buf = io.BytesIO()
        shape = tuple(data.draw(st.lists(st.integers(0, 4), max_size=4)))
        np.lib.format.write_array(buf, np.ones(shape, np.float32))
        members[name] = buf.getvalue()
    elif choice == "header":
        header = data.draw(
            st.sampled_from(
                [
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }",
                    "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
                    "{'descr': '<f4', 'fortran_order': 'yes', 'shape': (), }",
                    "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (), }",
                    "__import__('os').system('true')",
                    "{'descr': '<f4'}",
                    "[" * 500,
                ]
            )
        )
        raw = header.encode("latin1") + b" " * (-(len(header) + 11) % 64) + b"\n"
        members[name] = b"\x93NUMPY\x01\x00" + len(raw).to_bytes(2, "little") + raw + b"\0" * 8
    elif choice == "bytes":
        b = bytearray(members[name])
        if b:
            b[data.draw(st.integers(0, len(b) - 1))] = data.draw(st.integers(0, 255))
        members[name] = bytes(b)
    elif choice == "drop":
        del members[name]
    elif choice == "extra":
        members[data.draw(st.sampled_from(["x.npy", "../e0.npy", "/e0.npy", "e0.npy/", "e99.npy"]))] = (
            b"\x93NUMPY"
        )
    elif choice == "object":
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.array([None, {"a": 1}], dtype=object), allow_pickle=True)
        members[name] = buf.getvalue()
    else:
        members[name] = members[name][: data.draw(st.integers(0, len(members[name])))]
    npz = zip_of(
        list(members.items()), data.draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    )
    check(assemble(npz=npz))


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [ff.MANIFEST, ff.SESSION, ff.ARRAYS, "../evil", "/abs", "dir/", "a/b", "C:x", "x"]
            ),
            st.sampled_from(["manifest", "doc", "npz", "junk", "empty"]),
        ),
        max_size=5,
    )
)
def test_hostile_member_lists(members: list) -> None:
    content = {
        "manifest": json.dumps(MANIFEST).encode(),
        "doc": json.dumps(DOC).encode(),
        "npz": NPZ,
        "junk": b"\x00\xff" * 10,
        "empty": b"",
    }
    check(zip_of([(name, content[kind]) for name, kind in members]))


@pytest.mark.parametrize(
    "text",
    [b"[" * 200_000, b'{"a":' * 200_000, b'"' + b"\\u0000" * 100_000 + b'"', b"1" * 100_000],
    ids=["brackets", "objects", "nul-string", "long-int"],
)
def test_pathological_json(text: bytes) -> None:
    check(assemble(doc=text))
    check(assemble(manifest=text))


def test_the_valid_file_is_valid() -> None:
    entries, view = ff.loads(VALID, **LIMITS)
    s = Session(max_elements=LIMITS["max_elements"])
    ff.load_into(s, entries, view)
    assert s.names() == BASE.names()


# --- ten thousand mutants: the loader AND the replay ------------------------------------------------
MUTANTS = int(os.environ.get("GRADVIZ_FUZZ_MUTANTS", "10000"))
# Bounded by count and by time, whichever comes first: a mutant of a shipped example that loads
# replays its training loop (up to 0.7 s), so a loaded machine gets through fewer of them.
MUTANT_BUDGET_S = 90.0
MIN_MUTANTS = 1000  # fewer than this in the budget would test too little: then it fails


def _odd_session() -> Session:
    """Small integer dtypes and int64's ends: mutants of it reach the engine's odd corners
    (uint8 plus -1, overflow, division by zero) in the replay."""
    s = Session(max_elements=LIMITS["max_elements"])
    s.add_leaf("u", np.array([1, 200, 255], np.uint8))
    s.add_leaf("i", np.array([2**62, -(2**62), 7], np.int64))
    s.add_leaf("h", np.array([1.0, 65504.0], np.float16), requires_grad=True)
    s.add_leaf("b", np.array([True, False, True]))
    s.apply("add", ["u", 1], name="u1")
    s.apply("mul", ["i", 2], name="i2")
    s.apply("mul", ["h", 2.0], name="h2")
    s.apply("sum", ["h2"], name="hs")
    s.backward("hs")
    return s


def _sources() -> list[bytes]:
    from gradviz import resources

    files = [p.read_bytes() for p in sorted(resources.examples_dir().glob(f"*{ff.SUFFIX}"))]
    assert len(files) >= 5, "the shipped examples are missing"
    odd = _odd_session()
    return [*files, VALID, ff.to_bytes(odd.entries, odd.view)]


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _rezip(members: dict[str, bytes]) -> bytes:
    return zip_of(list(members.items()))


_PLANTS: list[Any] = [
    None,
    True,
    0,
    -1,
    1,
    255,
    256,
    2**31,
    2**53,
    2**53 + 1,
    2**63,
    -(2**63) - 1,
    10**30,
    0.5,
    float("nan"),
    float("inf"),
    -0.0,
    "",
    "x",
    "_1",
    "_99999999999999999999",
    "u",
    "h2",
    "add",
    "cat",
    "index",
    "float16",
    "uint8",
    "int8",
    "bool",
    "e0",
    "g8",
    "ref",
    "const",
    "a" * 300,
    [],
    [0],
    [-1],
    [2**40],
    [1] * 33,
    {},
    {"slice": [None, None, 0]},
    {"operand": 5},
    {"list": [True, False]},
    ["ref", "u"],
    ["const", -1],
]


def _mutate_doc(doc: Any, rng: np.random.Generator, known: list[Any]) -> Any:
    """Change, delete, insert or copy a few fields of session.json, keeping it JSON."""
    doc = json.loads(json.dumps(doc))
    for _ in range(int(rng.integers(1, 3))):
        spots = paths(doc)
        path = spots[int(rng.integers(len(spots)))]
        old = _get(doc, path)
        if rng.random() < 0.7 and path and not isinstance(old, (dict, list)):
            # A value of the same type: many such files pass the checks and reach the replay.
            same = [v for v in _PLANTS + known if type(v) is type(old)] or [old]
            with contextlib.suppress(TypeError, IndexError, KeyError):
                doc = set_at(doc, path, same[int(rng.integers(len(same)))], "set")
            continue
        pool = _PLANTS if rng.random() < 0.6 else known
        value = pool[int(rng.integers(len(pool)))]
        mode = ["set", "set", "set", "delete", "insert", "add"][int(rng.integers(6))]
        try:
            doc = set_at(doc, path, value, mode)
        except (TypeError, IndexError, KeyError):
            continue
    return doc


def _mutate_bytes(buf: bytes, rng: np.random.Generator) -> bytes:
    b = bytearray(buf)
    for _ in range(int(rng.integers(1, 5))):
        if not b:
            break
        i = int(rng.integers(len(b)))
        op = int(rng.integers(4))
        if op == 0:
            b[i] = int(rng.integers(256))
        elif op == 1:
            b[i:i] = rng.bytes(int(rng.integers(1, 9)))
        elif op == 2:
            del b[i : i + int(rng.integers(1, 9))]
        else:
            j = int(rng.integers(len(b)))
            b[i:i] = b[j : j + 16]
    return bytes(b)


def _mutant(sources: list[bytes], rng: np.random.Generator) -> bytes:
    src = sources[int(rng.integers(len(sources)))]
    how = rng.random()
    if how < 0.15:  # bytes of the file itself: mostly stopped by the zip layer
        return _mutate_bytes(src, rng)
    members = _members(src)
    if how < 0.75:  # the log's structure, in a valid zip
        doc = json.loads(members[ff.SESSION])
        known = [v for p in paths(doc) for v in [_get(doc, p)] if not isinstance(v, (dict, list))]
        members[ff.SESSION] = json.dumps(_mutate_doc(doc, rng, known)).encode()
    elif how < 0.85:  # session.json's text
        members[ff.SESSION] = _mutate_bytes(members[ff.SESSION], rng)
    elif how < 0.95:  # one array's .npy bytes, in a valid npz
        inner = _members(members[ff.ARRAYS])
        if inner:
            k = sorted(inner)[int(rng.integers(len(inner)))]
            inner[k] = _mutate_bytes(inner[k], rng)
            members[ff.ARRAYS] = _rezip(inner)
    else:  # the manifest
        members[ff.MANIFEST] = _mutate_bytes(members[ff.MANIFEST], rng)
    return _rezip(members)


def _get(doc: Any, path: tuple) -> Any:
    for k in path:
        doc = doc[k]
    return doc


def _try(data: bytes) -> str:
    """'refused' (by the loader), 'refused in replay', or 'loaded' (replayed, then saved and
    read again)."""
    try:
        entries, view = ff.loads(data, **LIMITS)
    except SessionFileError as e:
        assert not e.internal and str(e).strip(), str(e)
        return "refused"
    s = Session(max_elements=LIMITS["max_elements"])
    try:
        ff.load_into(s, entries, view)
    except SessionFileError as e:
        assert not e.internal, str(e)
        assert s.entries == ()
        return "refused in replay"
    again = ff.to_bytes(s.entries, s.view, max_elements=s.max_elements)  # what loads must save ...
    ff.loads(again, **LIMITS)  # ... and load again
    return "loaded"


def test_mutants_load_replay_and_save_or_are_refused() -> None:
    rng = np.random.default_rng(20240610)  # the same mutants every run: a failure reproduces
    sources = _sources()
    counts = {"tried": 0, "refused": 0, "refused in replay": 0, "loaded": 0, "crashed": 0}
    crashes: list[str] = []
    start = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(MUTANTS):
            if time.monotonic() - start > MUTANT_BUDGET_S:
                break
            data = _mutant(sources, rng)
            counts["tried"] += 1
            try:
                counts[_try(data)] += 1
            except Exception as e:  # the property: nothing else, ever
                counts["crashed"] += 1
                if len(crashes) < 5:
                    crashes.append(f"{type(e).__name__}: {e}")
    took = time.monotonic() - start
    print(f"\nfuzz: {counts} in {took:.1f} s")
    assert counts["crashed"] == 0, crashes
    assert counts["tried"] >= min(MUTANTS, MIN_MUTANTS), f"too few mutants in {MUTANT_BUDGET_S} s: {counts}"
    past = counts["loaded"] + counts["refused in replay"]
    assert past > counts["tried"] // 20, "too few mutants got past the loader to test the replay"
