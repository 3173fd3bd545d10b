#!/usr/bin/env bash
# The main job for now: the paper's three electrodes, their summaries, figures and exports.
set -euo pipefail
out=${1:-out}
voxode=.venv/bin/voxode
mkdir -p "$out"
for preset in paper-pristine paper-bilayer paper-bilayer-reverse; do
  $voxode generate "$preset" -o "$out/$preset.npz"
  $voxode info "$out/$preset.npz" --json > "$out/$preset.json"
  $voxode plot "$out/$preset.npz" -o "$out/$preset.png"
done
$voxode export "$out/paper-pristine.npz" --tiff --vtk
echo "demo results in $out/: electrodes (.npz), summaries (.json), figures (.png), TIFF and VTK exports"
