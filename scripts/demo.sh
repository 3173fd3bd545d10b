#!/usr/bin/env bash
# The main job for now: the paper's three electrodes, their summaries, figures and exports,
# and the per-particle characterization of the pristine electrode.
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
$voxode characterize "$out/paper-pristine.npz" -o "$out/paper-pristine_particles.parquet" \
  --profile "$out/paper-pristine_depth_profile.csv" --figures "$out/paper-pristine_figures"
$voxode tortuosity "$out/paper-pristine_phases.tif" --json > "$out/paper-pristine_tortuosity.json"
echo "demo results in $out/: electrodes (.npz), summaries (.json), figures (.png), TIFF and VTK exports,"
echo "the per-particle table (.parquet), tau(z) depth profiles (.csv) and their figures"
