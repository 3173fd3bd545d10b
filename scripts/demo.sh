#!/usr/bin/env bash
# The main job: the paper's three electrodes (summaries, figures, TIFF/VTK exports), then the
# paper's workflow end to end on electrodes of the paper's thickness (150 um) with miniature
# particles (voxode reproduce --preset quick): training simulations, surrogate + SHAP, design
# comparison, rate test, screening, report; the report's SOD-vs-depth figures and its table
# (printed last) show the thick-electrode gradient, SOD lower at the collector than at the
# separator.
set -euo pipefail
out=${1:-out}
voxode=.venv/bin/voxode
mkdir -p "$out"
for preset in paper-pristine paper-bilayer paper-bilayer-reverse; do
  $voxode generate "$preset" -o "$out/$preset.npz" --quiet
  $voxode info "$out/$preset.npz" --json > "$out/$preset.json"
  $voxode plot "$out/$preset.npz" -o "$out/$preset.png"
done
$voxode export "$out/paper-pristine.npz" --tiff --vtk
$voxode reproduce --preset quick -o "$out/reproduce"
echo "demo results in $out/: the paper's electrodes (.npz, .json, .png, TIFF, VTK) and"
echo "$out/reproduce/report.html (report.md): the workflow end to end with every figure;"
echo "SOD vs depth: $out/reproduce/figures/sod_vs_depth.png, $out/reproduce/designs/sod_depth.png"
