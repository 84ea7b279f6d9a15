#!/usr/bin/env bash
# Wrap gradviz.app (made by PyInstaller from packaging/gradviz.spec) in a compressed disk image
# with the usual drag-to-Applications layout.
#   packaging/macos/make_dmg.sh dist/gradviz.app dist/gradviz-0.1.0-macos-arm64.dmg
# packaging/build.py runs it on macOS. Optional signing: MACOS_SIGN_IDENTITY="Developer ID
# Application: ..." signs the app with the hardened runtime; MACOS_NOTARY_PROFILE (a profile stored
# with `xcrun notarytool store-credentials`) then notarizes and staples the image. Without them the
# app carries PyInstaller's ad-hoc signature, and Gatekeeper asks the user to confirm (right-click >
# Open) on first launch.
# Not run on the development machines (Linux); .github/workflows/release.yml runs it on a macOS runner.
set -euo pipefail

app=${1:?usage: make_dmg.sh path/to/gradviz.app out.dmg}
dmg=${2:?usage: make_dmg.sh path/to/gradviz.app out.dmg}
name=$(basename "$app" .app)
plist="$app/Contents/Info.plist"

# The bundle must declare the .gradviz document type (PyInstaller writes Info.plist from the spec).
plutil -lint "$plist"
/usr/libexec/PlistBuddy -c "Print :CFBundleDocumentTypes:0:LSItemContentTypes:0" "$plist" | grep -qx "org.gradviz.session"
/usr/libexec/PlistBuddy -c "Print :UTExportedTypeDeclarations:0:UTTypeTagSpecification:public.filename-extension:0" "$plist" | grep -qx "gradviz"
version=$(/usr/libexec/PlistBuddy -c "Print :CFBundleShortVersionString" "$plist")
echo "make_dmg: $name $version"

# The app must start: --version runs the frozen Python without opening a window.
"$app/Contents/MacOS/$name" --version

if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
    codesign --force --deep --options runtime --timestamp --sign "$MACOS_SIGN_IDENTITY" "$app"
    codesign --verify --deep --strict --verbose=2 "$app"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
rm -f "$dmg"
hdiutil create -volname "$name $version" -srcfolder "$stage" -fs HFS+ -format UDZO -imagekey zlib-level=9 -ov "$dmg"

if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
    codesign --force --sign "$MACOS_SIGN_IDENTITY" --timestamp "$dmg"
    if [ -n "${MACOS_NOTARY_PROFILE:-}" ]; then
        xcrun notarytool submit "$dmg" --keychain-profile "$MACOS_NOTARY_PROFILE" --wait
        xcrun stapler staple "$dmg"
    fi
fi
hdiutil verify "$dmg"
echo "make_dmg: $dmg"
