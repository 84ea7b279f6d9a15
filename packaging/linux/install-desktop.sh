#!/bin/sh
# Add gradviz (this folder) to the desktop menu of the current user, with its icon and the
# .gradviz file type, following the XDG base directory, desktop entry and shared MIME specs.
#   ./install-desktop.sh              install for this user (~/.local)
#   ./install-desktop.sh --uninstall  remove what it installed
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
bin=$HOME/.local/bin
res=$here/_internal/resources
sizes="16 24 32 48 64 128 256 512"

if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$bin/gradviz" "$data/applications/gradviz.desktop" "$data/mime/packages/gradviz.xml"
    for s in $sizes; do
        rm -f "$data/icons/hicolor/${s}x${s}/apps/gradviz.png" "$data/icons/hicolor/${s}x${s}/mimetypes/application-x-gradviz.png"
    done
    rm -f "$data/icons/hicolor/scalable/apps/gradviz.svg" "$data/icons/hicolor/scalable/mimetypes/application-x-gradviz.svg"
else
    mkdir -p "$bin" "$data/applications" "$data/mime/packages"
    ln -sf "$here/gradviz" "$bin/gradviz"
    # Exec with the full path: ~/.local/bin is not on every desktop session's PATH
    sed -e "s|^Exec=gradviz|Exec=\"$here/gradviz\"|" -e "s|^TryExec=gradviz|TryExec=$here/gradviz|" \
        "$res/gradviz.desktop" > "$data/applications/gradviz.desktop"
    cp "$res/gradviz-mime.xml" "$data/mime/packages/gradviz.xml"
    for s in $sizes; do
        for kind in apps mimetypes; do mkdir -p "$data/icons/hicolor/${s}x${s}/$kind"; done
        cp "$res/icons/gradviz-$s.png" "$data/icons/hicolor/${s}x${s}/apps/gradviz.png"
        cp "$res/icons/gradviz-$s.png" "$data/icons/hicolor/${s}x${s}/mimetypes/application-x-gradviz.png"
    done
    for kind in apps mimetypes; do mkdir -p "$data/icons/hicolor/scalable/$kind"; done
    cp "$res/icons/gradviz.svg" "$data/icons/hicolor/scalable/apps/gradviz.svg"
    cp "$res/icons/gradviz.svg" "$data/icons/hicolor/scalable/mimetypes/application-x-gradviz.svg"
fi
# refresh the caches where the tools are there (all are optional)
command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$data/mime" || true
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
if [ "${1:-}" = "--uninstall" ]; then
    echo "gradviz: removed from the menu of $(id -un)"
else
    command -v xdg-mime >/dev/null 2>&1 && xdg-mime default gradviz.desktop application/x-gradviz || true
    echo "gradviz: added to the menu of $(id -un); .gradviz files open with it"
fi
