"""Particle size sampling from a truncated log-normal distribution.

The recipe gives the volume-weighted distribution (D10/D50/D90 of volume); particles are drawn
one by one from the matching number-weighted log-normal (same sigma, median D50_v exp(-3 sigma^2)),
truncated to [d_min, d_max], until the drawn volume reaches the target.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from voxode.recipe import SizeDistribution
from voxode.summary import volume_weighted_quantiles_um  # noqa: F401  (measured sizes live in summary)


def sample_diameters_um(
    psd: SizeDistribution,
    size_scale: float,
    target_volume_um3: float,
    rng: np.random.Generator,
    d_cap_um: float = math.inf,
) -> np.ndarray:
    """Diameters (um) drawn until their total sphere-equivalent volume first reaches the target.

    ``d_cap_um`` lowers the upper truncation (used to top up a small remaining volume).
    """
    if target_volume_um3 <= 0:
        return np.zeros(0)
    sigma = psd.sigma
    mu = math.log(psd.number_median_um * size_scale)
    d_min = psd.d_min_um * size_scale
    d_max = max(min(psd.d_max_um * size_scale, d_cap_um), d_min * 1.01)
    lo = (math.log(d_min) - mu) / sigma
    hi = (math.log(d_max) - mu) / sigma
    dist = stats.truncnorm(lo, hi, loc=mu, scale=sigma)
    out: list[np.ndarray] = []
    total = 0.0
    while total < target_volume_um3:
        mean_volume = math.pi / 6.0 * math.exp(3 * mu + 4.5 * sigma**2)
        batch = max(8, int(1.2 * (target_volume_um3 - total) / mean_volume) + 8)
        d = np.exp(dist.rvs(size=batch, random_state=rng))
        cum = total + np.cumsum(math.pi / 6.0 * d**3)
        stop = int(np.searchsorted(cum, target_volume_um3))
        if stop < batch:
            out.append(d[: stop + 1])
            break
        out.append(d)
        total = float(cum[-1])
    return np.concatenate(out)
