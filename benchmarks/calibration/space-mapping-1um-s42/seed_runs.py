"""Put the 3D discharges of the DFN-only fit (fit0, run by sim.sh with voxode simulate) into the
calibration's --runs-dir under the key calibrate gives the same discharge, so that the
space-mapping calibration reads them instead of running them again."""
import hashlib, json, shutil, sys
from pathlib import Path
import numpy as np
from voxode.electrode import Electrode
from voxode.electrochem.calibrate import _Problem, _run_key, parse_fit, read_rate_data
from voxode.electrochem.defaults import DEFAULT_CUTOFF_V
from voxode.electrochem.materials import load_parameters
e = Electrode.load("/work/runs14/pristine_1um_s42.npz")
base = load_parameters("/work/wt-14b/benchmarks/calibration/chen2020-oregan2022-macmullin.yaml")
fits = [parse_fit(s, base) for s in ("cbd.macmullin_number:2.83:1000", "active.diffusivity_m2_s:0.1:10")]
rows = read_rate_data(Path("/work/shared/reference/paper_rate_test.csv"))
problem = _Problem(e, base, fits, rows, 5.0, DEFAULT_CUTOFF_V, None)
fit = json.loads(Path("/work/runs14/fit0/fit.json").read_text())
values = np.array([p["value"] for p in fit["parameters"]])
params = problem.params_at(values)
loaded = load_parameters("/work/runs14/fit0/params.yaml")
for current, rate in zip(problem.current_ma_cm2, rows["c_rate"]):
    key = _run_key(e, params, float(current), DEFAULT_CUTOFF_V)
    assert key == _run_key(e, loaded, float(current), DEFAULT_CUTOFF_V), "the simulated set differs"
    src = Path(f"/work/runs14/3d_s0_c{rate}")
    summary = json.loads((src / "summary.json").read_text())
    assert summary["current_ma_cm2"] == float(current), (summary["current_ma_cm2"], current)
    dst = Path(sys.argv[1]) / f"3d-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    shutil.copytree(src, dst, dirs_exist_ok=True)
    (dst / "calibrate_3d.json").write_text(key)
    print(rate, current, dst, summary["capacity_mah_g"])
