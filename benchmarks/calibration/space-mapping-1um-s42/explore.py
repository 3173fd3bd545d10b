"""What the radius-mapped DFN (S1's radius factor and 3D - DFN offsets) says the 3D model needs
to match the pristine cells: (A) D_s factor allowed below the literature bound, (B) a contact
resistance as a third parameter. DFN only (cheap); not a verified set."""
import json, sys, time
from pathlib import Path
import numpy as np
from voxode.electrode import Electrode
from voxode.electrochem.calibrate import _Problem, _least_squares, parse_fit, read_rate_data
from voxode.electrochem.defaults import DEFAULT_CUTOFF_V
from voxode.electrochem.materials import load_parameters
e = Electrode.load("/work/runs14/pristine_1um_s42.npz")
base = load_parameters("/work/wt-14b/benchmarks/calibration/chen2020-oregan2022-macmullin.yaml")
rows = read_rate_data(Path("/work/shared/reference/paper_rate_test.csv"))
m = json.loads(Path("/work/runs14/runs3d/space_mapping.json").read_text())
step = m[-1]
cases = {"A": ["cbd.macmullin_number:2.83:1000", "active.diffusivity_m2_s:0.01:10"],
         "B": ["cbd.macmullin_number:2.83:1000", "active.diffusivity_m2_s:0.1:10", "collector.contact_resistance_ohm_cm2:0:30"]}
for name in sys.argv[1:]:
    fits = [parse_fit(s, base) for s in cases[name]]
    pr = _Problem(e, base, fits, rows, 5.0, DEFAULT_CUTOFF_V, None)
    pr.radius_scale = step["radius_scale"]
    pr.offset = np.array(step["offset_mah_g"])
    start_vals = [step["values"].get(f.name, 1.0 if f.factor_of is None else 1.0) for f in fits]
    if len(fits) == 3: start_vals[2] = 5.0
    lower = np.array([f.to_scaled(f.lower) for f in fits]); upper = np.array([f.to_scaled(f.upper) for f in fits])
    start = np.array([f.to_scaled(v) for f, v in zip(fits, start_vals)])
    t = time.time()
    best, res = _least_squares(pr, start, lower, upper, 40)
    vals = [f.from_scaled(s) for f, s in zip(fits, best)]
    dfn = pr.capacities(np.array(vals))
    print(name, "step", step["iteration"], dict(zip([f.name for f in fits], vals)), "mapped DFN", dfn + pr.offset,
          "chi2", float(np.sum(((dfn + pr.offset - pr.measured) / 5.0) ** 2)), pr.evaluations, f"{time.time()-t:.0f}s", flush=True)
