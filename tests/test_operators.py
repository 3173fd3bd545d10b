"""The discrete operators of the half-cell model against analytic solutions: Li diffusion in a
voxelised sphere, Butler-Volmer kinetics on a flat interface, and steady salt diffusion and
migration in a straight electrolyte channel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.optimize import brentq
from scipy.sparse.linalg import expm_multiply

from voxode.electrochem.grid import build_grid
from voxode.electrochem.materials import FARADAY_C_MOL, ParameterSet, load_parameters, with_values
from voxode.electrochem.model import Model, _Jacobian
from voxode.electrochem.simulate import Discharge, simulate
from voxode.electrochem.solver import EndReason
from voxode.electrode import CBD, NMC, PORE, Electrode, Layer

VOXEL_UM = 1.0
# Dense CBD has no electrolyte: it wires the sphere to the collector without reacting.
DENSE_CBD = 0.0
# Nanoporosity of the CBD hole through the planar slab: build_grid needs electrolyte on the
# collector plane, so a dense slab cannot cover it. The hole's ionic conductance (~eps^1.5) and
# reactive area (~eps) are negligible; with INERT_CBD_S_M its electronic conductance is too.
HOLE_NANOPOROSITY = 1e-6
INERT_CBD_S_M = 1e-12


def parameters(**sections: dict[str, object]) -> ParameterSet:
    """The shipped set with fields of its sections replaced, validated again
    (``model_copy(update=...)`` would skip validation)."""
    data = load_parameters().model_dump()
    for name, fields in sections.items():
        data[name] = data[name] | fields
    return ParameterSet.model_validate(data)


def one_particle_electrode(phases: np.ndarray, cbd_nanoporosity: float) -> Electrode:
    """An electrode whose NMC voxels form particle 1."""
    return Electrode(
        phases=phases,
        particle_ids=(phases == NMC).astype(np.int32),
        voxel_um=VOXEL_UM,
        particles=pd.DataFrame({"id": [1], "layer": [0], "population": ["test"]}),
        layers=[Layer("all", 0.0, phases.shape[2] * VOXEL_UM, cbd_nanoporosity=cbd_nanoporosity)],
    )


# ---------------------------------------------------------------- Li diffusion in a sphere
def tan_roots(n: int) -> np.ndarray:
    """The first ``n`` positive roots of tan(a) = a, one in each (k pi, (k + 1/2) pi)."""
    return np.array(
        [
            brentq(lambda a: a * np.cos(a) - np.sin(a), k * np.pi + 1e-9, (k + 0.5) * np.pi - 1e-9)
            for k in range(1, n + 1)
        ]
    )


def sphere_constant_flux(rho: np.ndarray, tau: float, roots: np.ndarray) -> np.ndarray:
    """(c - c0) / (j R / D) at r = rho R, tau = D t / R^2, in a sphere at c0 that takes up the
    constant flux j through its surface (Crank, The Mathematics of Diffusion, ch. 6):
    3 tau + rho^2/2 - 3/10 - (2/rho) sum sin(a_n rho) exp(-a_n^2 tau) / (a_n^2 sin a_n)."""
    series = (
        np.sinc(np.outer(rho, roots) / np.pi) / (roots * np.sin(roots)) * np.exp(-(roots**2) * tau)
    )
    return 3.0 * tau + 0.5 * rho**2 - 0.3 - 2.0 * series.sum(axis=1)


def sphere_on_a_stalk(radius_vox: float, margin: int = 3) -> tuple[Electrode, np.ndarray]:
    """An NMC sphere in electrolyte, on a one-voxel column of dense CBD down to the collector;
    also the distance (voxels) of every voxel centre from the sphere's centre. The margin keeps
    the mirror images of the sphere outside the 3-voxel stencil of the smooth-area normals."""
    n = int(2 * radius_vox) + 2 * margin
    nz = int(2 * radius_vox) + 2 + margin
    x, y, z = np.mgrid[:n, :n, :nz] + 0.5
    r = np.sqrt((x - n / 2) ** 2 + (y - n / 2) ** 2 + (z - radius_vox - 2) ** 2)
    phases = np.where(r < radius_vox, NMC, PORE).astype(np.uint8)
    stalk = phases[n // 2, n // 2]
    stalk[: np.argmax(stalk == NMC)] = CBD
    return one_particle_electrode(phases, DENSE_CBD), r


def _jacobian(model: Model, u: np.ndarray, dt_s: float) -> sp.csr_matrix:
    model.residual(u, u, dt_s, 0.0)
    return model.jacobian()


def particle_operator(model: Model) -> tuple[np.ndarray, sp.csr_matrix]:
    """Storage m (diagonal) and diffusion matrix K of the model's c_s rows, which read
    m (c - c_old) / dt + K c when the reaction is negligible: from the Jacobians at dt = 1, 2 s."""
    u = model.initial_state()
    cs = model.layout.c_s
    one, two = (_jacobian(model, u, dt)[cs, cs] for dt in (1.0, 2.0))
    storage = 2.0 * (one - two)
    assert abs(storage - sp.diags(storage.diagonal())).max() == 0.0
    return storage.diagonal(), (2.0 * two - one).tocsr()


def uptake(m: np.ndarray, k: sp.csr_matrix, source: np.ndarray, t_s: float) -> np.ndarray:
    """c(t) - c(0) of m dc/dt = source - K c from a uniform state, exactly (matrix exponential of
    the system augmented by the constant source), so no time-stepping error enters."""
    a = sp.bmat(
        [
            [-sp.diags(1.0 / m) @ k, sp.csr_matrix((source / m)[:, None])],
            [None, sp.csr_matrix((1, 1))],
        ]
    ).tocsc()
    start = np.zeros(m.size + 1)
    start[-1] = 1.0
    return expm_multiply(a * t_s, start)[:-1]


def test_particle_diffusion_matches_the_sphere_under_constant_surface_flux() -> None:
    """Uniform flux density into a 7-voxel sphere through the model's reactive faces (in
    proportion to their smooth areas, as a uniform current density does) vs the series solution
    with the volume-equivalent radius, at every voxel centre and at the reactive surface."""
    electrode, r_vox = sphere_on_a_stalk(7.0)
    params = parameters(active={"rate_constant": 1e-30})  # no Butler-Volmer terms in the c_s rows
    grid = build_grid(electrode, params)
    model = Model(grid, params)
    m, k = particle_operator(model)
    h, d = grid.h_m, params.active.diffusivity_m2_s
    np.testing.assert_allclose(m, FARADAY_C_MOL * h**3, rtol=1e-14)

    # the model's residual is this linear operator at an arbitrary state
    u_old = model.initial_state()
    u = u_old.copy()
    u[model.layout.c_s] += np.random.default_rng(0).uniform(-100.0, 100.0, grid.n_nmc)
    dc = u[model.layout.c_s] - u_old[model.layout.c_s]
    r = model.residual(u, u_old, 3.0, 0.0, jacobian=False)[model.layout.c_s]
    np.testing.assert_allclose(r, m * dc / 3.0 + k @ dc, rtol=1e-9, atol=1e-12 * np.abs(r).max())

    radius = (3.0 * grid.n_nmc * h**3 / (4.0 * np.pi)) ** (1.0 / 3.0)
    surface = np.bincount(grid.reaction_nmc, grid.reaction_area_m2, grid.n_nmc)
    surface /= surface.sum()  # each cell's share of the reactive area
    # flux density j = D / R (so that j R / D = 1 mol/m^3) over the sphere's exact area: the
    # mean rises by exactly 3 j t / R, and the error below is the diffusion operator's alone
    source = FARADAY_C_MOL * (d / radius) * 4.0 * np.pi * radius**2 * surface
    rho = r_vox.ravel()[grid.nmc_voxel] * h / radius
    roots = tan_roots(100)
    for tau in (0.02, 0.1, 1.0):
        c = uptake(m, k, source, tau * radius**2 / d)
        exact = sphere_constant_flux(rho, tau, roots)
        error = c - exact
        # Measured at R = 7.06 voxels, in units of j R / D (the surface excess over the mean is
        # 0.2 at steady state): rms 0.0056, 0.011, 0.013 and max 0.042, 0.045, 0.054 at tau = 0.02,
        # 0.1, 1 (the largest on staircase corners, O(j h / D)); the surface value, which the
        # kinetics see, is within 0.006. K scaled by 0.9 or 1.1 gives 0.022 or 0.016 rms and
        # 0.024 or 0.009 at the surface.
        assert np.sqrt(np.mean(error**2)) < 0.015, tau
        assert np.abs(error).max() < 0.06, tau
        assert abs(surface @ error) < 0.008, tau
        # The cell-centred surface value lies below c(R, t) by the flux gradient times the depth
        # of the cell centres, about 0.3 h: measured 0.043, 0.040, 0.039 j R / D (~0.3 j h / D).
        lag = sphere_constant_flux(np.array([1.0]), tau, roots)[0] - surface @ c
        assert 0.0 < lag < 0.5 * h / radius, (tau, lag)


# ---------------------------------------------------------------- planar half cell
def planar_cell(n_solid: int = 6, n_pore: int = 10, lateral: int = 5) -> Electrode:
    """A dense NMC slab on the collector (planes z < n_solid) under an electrolyte channel, with
    an inert CBD hole down the corner column of the slab for build_grid's electrolyte check.
    Faces at least 4 voxels from the hole are beyond the reach of the smooth-area stencil."""
    phases = np.full((lateral, lateral, n_solid + n_pore), PORE, dtype=np.uint8)
    phases[:, :, :n_solid] = NMC
    phases[0, 0, :n_solid] = CBD
    return one_particle_electrode(phases, HOLE_NANOPOROSITY)


def planar_parameters(kappa_s_m: float, diffusivity_m2_s: float) -> ParameterSet:
    """Constant electrolyte properties and an inert CBD hole. The columns of the slab next to
    the hole take up current in proportion to their faces' smooth areas (weights < 1 there), so a
    fast-conducting, fast-diffusing slab keeps the solid laterally uniform."""
    return parameters(
        active={"conductivity_s_m": 1e3, "diffusivity_m2_s": 1e-7},
        cbd={"conductivity_s_m": INERT_CBD_S_M},
        electrolyte={
            "conductivity_s_m": repr(kappa_s_m),
            "diffusivity_m2_s": repr(diffusivity_m2_s),
        },
    )


def applied_current_density(run: Discharge) -> float:
    """The discharge current per box cross-section, A/m^2."""
    return run.current_ma_cm2 * 10.0


@pytest.mark.parametrize("current_ma_cm2", [0.05, 5.0])  # i / 2 i0 ~ 0.1 and ~ 10
def test_butler_volmer_on_a_flat_interface(current_ma_cm2: float) -> None:
    """Overpotential of every face of the flat NMC | electrolyte interface and of the Li foil vs
    eta = (2RT/F) asinh(i / 2 i0) (alpha = 0.5), with i the applied current over the model's
    reactive area and i0 from each face's own c_e and c_s; electrolyte transport made fast."""
    params = planar_parameters(1e4, 1e-6)
    run = simulate(planar_cell(), current_ma_cm2=current_ma_cm2, params=params, t_end_s=10.0)
    grid, lay, u = run.grid, run.model.layout, run.final_state
    assert run.end.reason is EndReason.TIME_LIMIT

    flat = grid.reaction_area_m2 > 0.5 * grid.h_m**2  # NMC | pore (the hole's: ~1e-6 h^2)
    x, y, _ = np.unravel_index(grid.nmc_voxel[grid.reaction_nmc[flat]], run.electrode.shape)
    far = np.maximum(x, y) >= 4
    assert far.sum() == 9
    # a face of a flat wall keeps its full area: no smooth-area correction
    np.testing.assert_allclose(grid.reaction_area_m2[flat][far], grid.h_m**2, rtol=1e-12)

    a = params.active
    rt_f = params.thermal_voltage_v
    i = -applied_current_density(run) * grid.area_m2 / grid.reaction_area_m2.sum()  # anodic > 0
    s, e = grid.reaction_nmc[flat], grid.reaction_liquid[flat]
    cs, ce = u[lay.c_s][s], u[lay.c_e][e]
    dphi = u[lay.phi_s][grid.reaction_solid[flat]] - u[lay.phi_e][e]
    eta = dphi - params.ocp(cs / a.c_max_mol_m3)
    i0 = a.rate_constant * np.sqrt(ce * cs * (a.c_max_mol_m3 - cs))
    # measured: 5e-8 (0.05 mA/cm^2) and 1e-7 (5 mA/cm^2) relative, from the remaining lateral
    # spread of c_s next to the hole (the area-weighted mean current density is exact)
    np.testing.assert_allclose(eta, 2.0 * rt_f * np.arcsinh(i / (2.0 * i0)), rtol=1e-6)

    ce_foil = u[lay.c_e][grid.foil_liquid]
    eta_foil = -u[lay.phi_e][grid.foil_liquid]
    i_foil = applied_current_density(run)
    # measured: 2e-16; the Newton tolerance of the currents is 1e-9
    np.testing.assert_allclose(
        eta_foil, 2.0 * rt_f * np.arcsinh(i_foil / (2.0 * params.foil_i0(ce_foil))), rtol=1e-9
    )


def channel_planes(run: Discharge) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Along the electrolyte channel and the separator: plane centres z (m), electrolyte volume
    per box area of each plane (m), and the plane means of c_e and phi_e at the end of ``run``."""
    grid, lay, u = run.grid, run.model.layout, run.final_state
    nz = run.electrode.shape[2]
    n_e = grid.liquid_voxel.size
    plane = grid.liquid_voxel % nz
    pore = run.electrode.phases.ravel()[grid.liquid_voxel] == PORE
    planes = np.unique(plane[pore])
    dz = grid.separator_dz_m
    z = np.concatenate([(planes + 0.5) * grid.h_m, nz * grid.h_m + np.cumsum(dz) - 0.5 * dz])
    volume = np.concatenate([np.full(planes.size, grid.h_m), run.params.separator.porosity * dz])

    def means(values: np.ndarray) -> np.ndarray:
        electrode_planes = [values[:n_e][pore & (plane == k)].mean() for k in planes]
        return np.concatenate([electrode_planes, values[n_e:].reshape(dz.size, -1).mean(axis=1)])

    return z, volume, means(u[lay.c_e]), means(u[lay.phi_e])


def test_steady_diffusion_migration_in_a_straight_channel() -> None:
    """At steady state the anions stand still: c_e is linear with slope (1 - t+) i / (F D_eff) in
    the channel and in the separator (D_eff = D eps^b) with the mean salt content kept, and
    phi_e rises from the interface to the foil by i z / kappa_eff plus the diffusion potential
    2 (1 - t+) RT/F ln(c_foil / c_interface). Plane means of c_e obey the 1D balance exactly
    (constant D, all sources in the first plane), so the lateral spread at the hole drops out."""
    kappa, diffusivity = 1.0, 3e-10
    params = planar_parameters(kappa, diffusivity)
    # L^2 / D ~ 4 s over the 35 um to the foil: 40 s is ~10 of it
    run = simulate(planar_cell(), current_ma_cm2=10.0, params=params, t_end_s=40.0)
    assert run.end.reason is EndReason.TIME_LIMIT
    z, volume, c_e, phi_e = channel_planes(run)
    el, sep = params.electrolyte, params.separator
    top = run.electrode.thickness_um * 1e-6
    i = applied_current_density(run)
    slope = (1.0 - el.transference_number) * i / (FARADAY_C_MOL * diffusivity)
    f_sep = sep.porosity**sep.bruggeman
    interface = z[0] - 0.5 * run.grid.h_m
    shape = slope * (np.minimum(z, top) - interface) + slope / f_sep * np.maximum(z - top, 0.0)
    exact = el.c_initial_mol_m3 + shape - volume @ shape / volume.sum()
    # measured 1e-5 mol/m^3 (8e-5 at 20 s, still the transient) on a span of 219 mol/m^3
    np.testing.assert_allclose(c_e, exact, rtol=0.0, atol=1e-4)
    resistance = (top - z[0]) / kappa + (z[-1] - top) / (kappa * f_sep)
    drop = i * resistance + 2.0 * (
        1.0 - el.transference_number
    ) * el.thermodynamic_factor * params.thermal_voltage_v * np.log(exact[-1] / exact[0])
    # 16.6 mV, half of it the diffusion potential; measured 3e-7 relative
    assert phi_e[-1] - phi_e[0] == pytest.approx(drop, rel=1e-6)


def mid_discharge(params: ParameterSet) -> tuple[Model, np.ndarray, np.ndarray]:
    """A model of a small sphere packing, its initial state and a mid-discharge-like state
    (random stoichiometries, salt and potentials around the equilibrium)."""
    from synthetic_images import sphere_packing

    electrode = sphere_packing(
        (6, 6, 10), voxel_um=1.0, radius_vox=(1.5, 2.5), nmc_fraction=0.5, cbd_fraction=0.1, seed=3
    )
    model = Model(build_grid(electrode, params), params)
    lay = model.layout
    rng = np.random.default_rng(7)
    u_old = model.initial_state()
    u = u_old.copy()
    u[lay.c_s] = rng.uniform(0.3, 0.9, lay.n_nmc) * model.c_max
    u[lay.c_e] = rng.uniform(400.0, 1600.0, lay.n_liquid)
    u[lay.phi_e] = rng.uniform(-0.05, 0.05, lay.n_liquid)
    u[lay.phi_s] = u[lay.v] - rng.uniform(0.0, 0.01, lay.n_solid)
    return model, u_old, u


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"cbd.ionic_model": "macmullin", "cbd.macmullin_number": 8.0},
        {"cbd.ionic_model": "blocking"},
        {"collector.contact_resistance_ohm_cm2": 5.0},
    ],
    ids=["bruggeman", "macmullin", "blocking-cbd", "contact-resistance"],
)
def test_the_jacobian_matches_central_differences_of_the_residual_on_every_block(options) -> None:
    """At a mid-discharge-like state (random stoichiometries, salt and potentials around the
    equilibrium), every block of the assembled Jacobian times a random direction equals the
    central difference (r(u + e v) - r(u - e v)) / 2e of the residual, to 1e-6 of the block's
    magnitude (the difference's truncation and rounding errors are ~1e-9 here), for each
    physics option that changes the assembly."""
    model, u_old, u = mid_discharge(with_values(load_parameters(), options))
    lay = model.layout
    rng = np.random.default_rng(8)
    model.residual(u, u_old, 2.0, 1e-9)
    jac = model.jacobian()
    blocks = {
        "phi_s": lay.phi_s,
        "phi_e": lay.phi_e,
        "V": slice(lay.v, lay.v + 1),
        "c_s": lay.c_s,
        "c_e": lay.c_e,
    }
    scale = {"phi_s": 1e-3, "phi_e": 1e-3, "V": 1e-3, "c_s": 10.0, "c_e": 10.0}
    for col_name, cols in blocks.items():
        v = np.zeros(lay.size)
        v[cols] = rng.uniform(-1.0, 1.0, v[cols].size) * scale[col_name]
        eps = 1e-4
        fd = (
            model.residual(u + eps * v, u_old, 2.0, 1e-9, jacobian=False)
            - model.residual(u - eps * v, u_old, 2.0, 1e-9, jacobian=False)
        ) / (2 * eps)
        exact = jac @ v
        for row_name, rows in blocks.items():
            size = np.abs(jac[rows, cols]).max() * np.abs(v[cols]).max()
            if size == 0.0:
                assert np.abs(fd[rows]).max() == 0.0, (row_name, col_name)
                continue
            err = np.abs(fd[rows] - exact[rows]).max() / size
            assert err < 1e-6, (row_name, col_name, err)


@pytest.mark.parametrize("with_voltage", [True, False], ids=["voltage-row", "no-voltage-row"])
def test_a_restricted_model_assembles_its_rows_exactly(with_voltage) -> None:
    """``Model.restrict(rows)`` (what each process of a distributed run does): the residual and
    the Jacobian in those rows equal the whole model's, to rounding, at a mid-discharge-like
    state, for a random half of every block's rows, with and without the
    voltage row; and fewer faces are evaluated."""
    whole, u_old, u = mid_discharge(load_parameters())
    part = Model(whole.grid, whole.params)
    lay = whole.layout
    rng = np.random.default_rng(8)
    # a random half of every block, drawn independently
    halves = [
        np.flatnonzero(rng.random(b.stop - b.start) < 0.5) + b.start
        for b in (lay.phi_s, lay.phi_e, lay.c_s, lay.c_e)
    ]
    rows = np.concatenate(halves + ([np.array([lay.v])] if with_voltage else []))
    part.restrict(rows)
    r_whole = whole.residual(u, u_old, 2.0, 1e-9)
    r_part = part.residual(u, u_old, 2.0, 1e-9)
    scale = np.abs(r_whole).max()
    assert np.abs(r_part[rows] - r_whole[rows]).max() <= 1e-12 * scale
    others = np.setdiff1d(np.arange(lay.size), rows)
    assert np.abs(r_part[others] - r_whole[others]).max() > 1e-6 * scale  # partial there
    j_whole = whole.jacobian()[rows].toarray()
    j_part = part.jacobian()[rows].toarray()
    assert np.abs(j_part - j_whole).max() <= 1e-12 * np.abs(j_whole).max()
    assert part._terms.ionic.i.size < whole._terms.ionic.i.size


def test_the_jacobian_pattern_and_values_equal_scipys_sum_of_triplets() -> None:
    """``_Jacobian`` (the model's CSR assembly: pattern fixed by a counting sort on the first
    assembly, values summed at fixed positions afterwards) gives SciPy's canonical CSR of the
    same triplets, duplicates summed, on its first and on a later assembly; blocks mix index
    arrays of both integer widths, one index for all, and repeated cells."""
    n = 500
    rng = np.random.default_rng(3)
    spec = [  # (row0, rows, col0, cols) of each block
        (0, rng.integers(0, 200, 4000), 0, rng.integers(0, 200, 4000).astype(np.int32)),
        (200, rng.integers(0, 300, 3000).astype(np.int32), 0, 7),
        (0, 42, 100, rng.integers(0, 400, 2000)),
        (300, np.arange(200), 300, np.arange(200)),
        (300, np.arange(200), 300, np.arange(200)),  # the same cells again
    ]
    jac = _Jacobian(n)
    for _ in range(2):
        jac.reset()
        rows, cols, vals = [], [], []
        for row0, r, col0, c in spec:
            values = rng.normal(size=np.broadcast(r, c).shape)
            scale = rng.choice([1.0, -0.5])
            jac.add(row0, r, col0, c, values, scale)
            rows.append(np.broadcast_to(row0 + r, values.shape))
            cols.append(np.broadcast_to(col0 + c, values.shape))
            vals.append(scale * values)
        expected = sp.coo_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
        ).tocsr()
        expected.sum_duplicates()
        got = jac.matrix()
        assert got.has_canonical_format
        np.testing.assert_array_equal(got.indptr, expected.indptr)
        np.testing.assert_array_equal(got.indices, expected.indices)
        np.testing.assert_allclose(got.data, expected.data, rtol=1e-13, atol=1e-13)
