#!/usr/bin/env bash
# Adds the bundle to the desktop's application menu (per user, no root):
#   <bundle>/_internal/resources/linux/install-desktop-entry.sh [BUNDLE_DIR]
# BUNDLE_DIR is the folder holding the `tradecoach` program (default: the bundle this script is in).
# `--uninstall` removes the entry and the icon again.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor"
if [ "${1:-}" = "--uninstall" ]; then
  rm -f "$apps/tradecoach.desktop" "$icons/256x256/apps/tradecoach.png" "$icons/scalable/apps/tradecoach.svg"
  echo "removed the Trading Coach menu entry"
  exit 0
fi
bundle="$(cd "${1:-$here/../../..}" && pwd)"
if [ ! -x "$bundle/tradecoach" ]; then
  echo "install-desktop-entry: no tradecoach program in $bundle (pass the bundle folder)" >&2
  exit 2
fi
mkdir -p "$apps" "$icons/256x256/apps" "$icons/scalable/apps"
install -m 0644 "$here/../icons/tradecoach.png" "$icons/256x256/apps/tradecoach.png"
install -m 0644 "$here/../icons/tradecoach.svg" "$icons/scalable/apps/tradecoach.svg"
# Exec: the program's absolute path, quoted as the Desktop Entry spec wants (spaces, quotes).
quoted="${bundle//\\/\\\\}"
quoted="${quoted//\"/\\\"}"
while IFS= read -r line; do
  case "$line" in
    Exec=*) line="Exec=\"$quoted/tradecoach\"" ;;
    Path=*) line="Path=$bundle" ;;
  esac
  printf '%s\n' "$line"
done < "$here/tradecoach.desktop" > "$apps/tradecoach.desktop"
chmod 0644 "$apps/tradecoach.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$apps" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$icons" || true
echo "installed $apps/tradecoach.desktop → $bundle/tradecoach"
