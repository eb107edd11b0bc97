#!/bin/sh
# Regenerates the app icons (committed) from a simple vector drawing with
# ImageMagick: a teal rounded square with a white "A"-like chevron. Run from
# anywhere: `sh icons/generate.sh`. Tauri needs RGBA PNGs and an ICO.
set -eu
cd "$(dirname "$0")"
draw() {
  size=$1 out=$2
  convert -size 512x512 xc:none \
    -fill '#0f766e' -draw 'roundrectangle 16,16 496,496 96,96' \
    -stroke white -strokewidth 56 -fill none -draw 'polyline 136,400 256,112 376,400' \
    -strokewidth 44 -draw 'line 180,300 332,300' \
    -resize "${size}x${size}" "PNG32:$out"
}
draw 32 32x32.png
draw 128 128x128.png
draw 256 128x128@2x.png
draw 512 icon.png
convert icon.png -define icon:auto-resize=256,128,64,48,32,16 icon.ico
