"""Qt plugins and translations that gradviz's bundle leaves out, and the libraries only they needed.

PyInstaller's PySide6 hooks collect every plugin of the Qt modules used. A few of them are wrong
for a desktop app shipped as a bundle:

- ``platformthemes/libqgtk3.so`` loads the *system's* GTK 3 against the bundle's copies of cairo,
  pango and glib: on a GNOME desktop (where Qt picks it by default) a version mismatch crashes at
  start. Without it Qt falls back to the XDG desktop portal theme, then to Fusion.
- the embedded-device platforms (``eglfs``, ``linuxfb``, ``vnc``, ``vkkhrdisplay``, ``minimalegl``)
  and their ``egldeviceintegrations``: not for a desktop; ``vnc`` alone pulls in QtNetwork and
  Kerberos.
- ``generic/libqtuiotouchplugin.so``: touch input over the network (TUIO), which pulls in QtNetwork.
- ``qt_help_*.qm`` translations (Qt Help is not used).

Then every shared library that only a removed plugin needed is removed too. "Needed" is what ``ldd``
resolves (transitively) for each binary kept, so nothing a kept binary links against is dropped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import PurePosixPath

DROP_PLUGINS = (
    "platformthemes/libqgtk3.so",
    "platforms/libqeglfs.so",
    "platforms/libqlinuxfb.so",
    "platforms/libqvnc.so",
    "platforms/libqvkkhrdisplay.so",
    "platforms/libqminimalegl.so",
    "egldeviceintegrations/",
    "generic/libqtuiotouchplugin.so",
)
DROP_TRANSLATIONS = re.compile(r"/translations/qt_help_[^/]*\.qm$")


def _dest(entry) -> str:
    return PurePosixPath(str(entry[0]).replace(os.sep, "/")).as_posix()


def _dropped_plugin(dest: str) -> bool:
    return "/plugins/" in f"/{dest}" and any(f"/plugins/{p}" in f"/{dest}" for p in DROP_PLUGINS)


def _ldd(path: str) -> set[str]:
    """Sonames that ``path`` needs, directly or not (as ldd resolves them)."""
    try:
        out = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return set()
    return {line.split()[0] for line in out.splitlines() if "=>" in line}


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def prune(binaries, datas, log=print):
    """(binaries, datas) without the plugins above and the libraries only they needed (Linux only)."""
    if not sys.platform.startswith("linux"):
        return binaries, datas
    dropped = [b for b in binaries if _dropped_plugin(_dest(b))]
    kept = [b for b in binaries if not _dropped_plugin(_dest(b))]
    needed_by_dropped: set[str] = set()
    for entry in dropped:
        needed_by_dropped |= _ldd(entry[1])

    # Candidates are the libraries a dropped plugin needed. Everything else kept is a root; a
    # candidate stays if a root needs it (ldd's answer is already transitive).
    def candidate(entry) -> bool:
        name = os.path.basename(_dest(entry))
        return (
            name in needed_by_dropped
            and ".cpython-" not in name
            and ".abi3." not in name
            and not name.startswith("libpython")
        )

    needed_by_roots: set[str] = set()
    for entry in kept:
        if not candidate(entry) and _is_elf(entry[1]):
            needed_by_roots |= _ldd(entry[1])
    final = [b for b in kept if not candidate(b) or os.path.basename(_dest(b)) in needed_by_roots]
    removed_libs = sorted(os.path.basename(_dest(b)) for b in kept if b not in final)
    datas = [d for d in datas if not DROP_TRANSLATIONS.search("/" + _dest(d))]
    log(f"prune: dropped {len(dropped)} Qt plugins and {len(removed_libs)} libraries only they needed")
    for name in removed_libs:
        log(f"prune:   {name}")
    return final, datas
