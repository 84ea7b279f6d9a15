"""Every limit in one table: what a session holds and runs, what the console lets a value grow
to, and what a ``.gradviz`` file can hold. The session, the console, the writer and the reader
all read it.

The reader (:mod:`.fileformat`) refuses anything beyond the file's figures; the writer refuses to
write what the reader would refuse; and the session refuses, when an entry is appended, any
entry that the writer could not save (:func:`.fileformat.check_appendable`). So what gradviz
writes, gradviz can read.
"""

from __future__ import annotations

from collections.abc import Iterable

# --- the session (each configurable per Session; see also footprint.default_budget) -----------
DEFAULT_MAX_ELEMENTS = 2**27  # elements in one tensor
DEFAULT_OP_SECONDS = 5.0  # the longest one op may run (priced by sizing.py): Stop acts between ops
BUDGET_ENV = "GRADVIZ_MEMORY_BUDGET"  # the memory budget, e.g. 16G; by default:
BUDGET_FRACTION = 0.5  # of physical memory
FALLBACK_BUDGET = 8 * 2**30  # where physical memory can't be read
UNDO_MEMORY = 256 * 2**20  # arrays only the undo history keeps; older steps are dropped beyond it
MAX_UNDO_STEPS = 1000

# --- the console's plain Python values (console/limits.py) ---------------------------------
MAX_STRING = 10_000_000  # characters in one string, and in what one input prints and shows
MAX_FORMAT_WIDTH = 100_000  # the width in a format spec: f"{x:>100000}"
MAX_FORMAT_PRECISION = 10_000  # the precision in a format spec: f"{x:.10000f}"
MAX_INT_BITS = 100_000  # about 30,000 decimal digits
MAX_LIST_ITEMS = 1_000_000  # list and tuple slots in one value (also capped by max_elements)
MAX_ROWS = 10_000  # iterating a tensor (a, b = t; list(t)) makes one op per row

# --- the log -------------------------------------------------------------------------------------
MAX_ENTRIES = 100_000  # entries in one log
MAX_NAME = 200  # characters in a tensor's name
MAX_SOURCE = 10_000  # characters of a leaf's source text ("torch.randn(3, 2)")
MAX_NDIM = 32  # dimensions of a stored array; items of a shape, dims or index parameter
MAX_OPERANDS = 1024  # tensor operands of one op (torch.cat of a list)
INT_MIN, INT_MAX = -(2**63), 2**63 - 1  # ints in parameters and constants are int64s
MAX_UID = 2**53  # tensor ids: integers that every JSON reader holds exactly
MAX_SCOPE_DEPTH = 32  # module calls and name scopes an op is made in, one inside the other

# --- what a file keeps of the learner's work besides the log (transcript.json, undo.json) -------
MAX_TRANSCRIPT_CELLS = 10_000  # the newest cells are kept
MAX_TRANSCRIPT_BYTES = 16 * 2**20  # transcript.json
MAX_UNDO_BYTES = 16 * 2**20  # undo.json; the newest steps are kept (MAX_UNDO_STEPS and
# UNDO_MEMORY, for the arrays only the undo steps hold, bound it too)
MAX_UNDO_LABEL = 1000  # characters of an undo step's label ("console: y = w*x + b"), cut beyond

# --- the zip and its members ----------------------------------------------------------------------
# Deflate can't compress better than about 1032:1, so a larger ratio is a lie or another method;
# the size caps are what really bound the memory a file can claim.
MAX_TOTAL_BYTES = 2 * 2**30  # everything uncompressed: members and the arrays inside arrays.npz
MAX_MANIFEST_BYTES = 64 * 2**10
MAX_SESSION_BYTES = 64 * 2**20
MAX_VIEW_BYTES = 1 * 2**20  # the view settings, inside session.json
MAX_RATIO = 1100
MAX_JSON_DEPTH = 32  # nesting of the view settings
MAX_NPY_HEADER = 10_000
MAX_COLORMAP_NAME = 100
MAX_MANIFEST_TEXT = 100  # app_version and time

# The reader counts arrays.npz and then each array inside it against MAX_TOTAL_BYTES (both are
# in memory at once), so the arrays may take a little under half of it. Each array also costs
# its .npy header (at most this many bytes as numpy writes it).
NPY_OVERHEAD = 256
MAX_ARRAY_BYTES = (MAX_TOTAL_BYTES - MAX_SESSION_BYTES - MAX_MANIFEST_BYTES) // 2


def next_free_uid(used: Iterable[int], *, headroom: int = 2**32) -> int:
    """The first uid to hand out after a log that uses ``used`` (its uids and the numbers of its
    hidden ``_N`` names): past all of them if that leaves ``headroom`` uids below MAX_UID, else
    at the start of the widest free run below MAX_UID (a stranger's file may put an id anywhere;
    what it loads must still save). Uids count up from there and never reach a used one before
    the session refuses the uid past MAX_UID."""
    taken = sorted({u for u in used if 0 < u <= MAX_UID})
    if not taken:
        return 1
    if MAX_UID - taken[-1] >= headroom:
        return taken[-1] + 1
    best_start, best_len = taken[-1] + 1, MAX_UID - taken[-1]
    prev = 0
    for u in taken:
        if u - prev - 1 > best_len:
            best_start, best_len = prev + 1, u - prev - 1
        prev = u
    return best_start


__all__ = [
    "BUDGET_ENV",
    "BUDGET_FRACTION",
    "DEFAULT_MAX_ELEMENTS",
    "DEFAULT_OP_SECONDS",
    "FALLBACK_BUDGET",
    "INT_MAX",
    "INT_MIN",
    "MAX_ARRAY_BYTES",
    "MAX_COLORMAP_NAME",
    "MAX_ENTRIES",
    "MAX_FORMAT_PRECISION",
    "MAX_FORMAT_WIDTH",
    "MAX_INT_BITS",
    "MAX_JSON_DEPTH",
    "MAX_LIST_ITEMS",
    "MAX_MANIFEST_BYTES",
    "MAX_MANIFEST_TEXT",
    "MAX_NAME",
    "MAX_NDIM",
    "MAX_NPY_HEADER",
    "MAX_OPERANDS",
    "MAX_RATIO",
    "MAX_ROWS",
    "MAX_SCOPE_DEPTH",
    "MAX_SESSION_BYTES",
    "MAX_SOURCE",
    "MAX_STRING",
    "MAX_TOTAL_BYTES",
    "MAX_TRANSCRIPT_BYTES",
    "MAX_TRANSCRIPT_CELLS",
    "MAX_UID",
    "MAX_UNDO_BYTES",
    "MAX_UNDO_LABEL",
    "MAX_UNDO_STEPS",
    "MAX_VIEW_BYTES",
    "NPY_OVERHEAD",
    "UNDO_MEMORY",
    "next_free_uid",
]
