"""Classic cycle problems with closed-form or independently computed reference values.

Every system is shifted (states offset by non-zero constants) so that a solver returning its
seed or zeros cannot pass.
"""

import numpy as np

from bifurcation import ODESystem

SHIFT = np.array([0.3, -0.2])


def hopf_nf(x, p):
    """Hopf normal form ż = (β + iω) z + σ z|z|² − z|z|⁴ (shifted); cycle r⁴ − σr² − β = 0."""
    b, w, s = p
    y = x - SHIFT
    r2 = y[0] ** 2 + y[1] ** 2
    g = b + s * r2 - r2 * r2
    return np.array([g * y[0] - w * y[1], w * y[0] + g * y[1]])


def hopf_system(beta=0.5, omega=2.0, sigma=-1.0):
    return ODESystem(hopf_nf, 2, {"beta": beta, "omega": omega, "sigma": sigma}, name="hopf_nf")


def hopf_radius(beta, sigma):
    """Cycle radius: r² = (σ ± sqrt(σ² + 4β)) / 2 (the + root for the outer/stable cycle)."""
    return np.sqrt((sigma + np.sqrt(sigma**2 + 4 * beta)) / 2)


def snic(x, p):
    """ẋ = x(1−r²) − y(μ − x), ẏ = y(1−r²) + x(μ − x): on r = 1, θ' = μ − cos θ.

    Period 2π / sqrt(μ² − 1) for μ > 1; SNIC at μ = 1 (period → ∞).
    """
    (mu,) = p
    r2 = x[0] ** 2 + x[1] ** 2
    th = mu - x[0]
    return np.array([x[0] * (1 - r2) - x[1] * th, x[1] * (1 - r2) + x[0] * th])


def ns_system():
    """Two oscillators, the second driven by the first's amplitude (4 states, shifted).

    z1' = (β + i ω1) z1 − |z1|² z1, z2' = (γ|z1|² − c + i ω2) z2 − |z2|² z2. On the cycle
    |z1|² = β, z2 = 0: multipliers exp(−2βT) (z1 radial), exp(T(γβ − c) ± i ω2 T), T = 2π/ω1.
    Neimark–Sacker at β = c/γ with angle θ = ω2 T (mod 2π).
    """
    off = np.array([0.5, -0.25, 0.1, 0.2])

    def f(x, p):
        b, w1, w2, gam, c = p
        y = x - off
        r1 = y[0] ** 2 + y[1] ** 2
        r2 = y[2] ** 2 + y[3] ** 2
        a = gam * r1 - c - r2
        return np.array([
            (b - r1) * y[0] - w1 * y[1], w1 * y[0] + (b - r1) * y[1],
            a * y[2] - w2 * y[3], w2 * y[2] + a * y[3],
        ])

    return ODESystem(f, 4, {"beta": 0.3, "omega1": 1.0, "omega2": 0.37, "gamma": 1.0,
                            "c": 0.5}, name="ns_example"), off


def vdp_system(mu=1.0):
    """Van der Pol x'' − μ(1 − x²)x' + x = 0 as x' = y, y' = μ(1 − x²)y − x."""
    def f(x, p):
        return np.array([x[1], p[0] * (1 - x[0] ** 2) * x[1] - x[0]])

    def jac(x, p):
        return np.array([[0.0, 1.0], [-2 * p[0] * x[0] * x[1] - 1.0, p[0] * (1 - x[0] ** 2)]])

    return ODESystem(f, 2, {"mu": mu}, jac=jac, name="vdp")


def rossler_system(c=2.5):
    """Rössler x' = −y − z, y' = x + a y, z' = b + z(x − c), a = b = 0.2."""
    def f(x, p):
        a, b, cc = p
        return np.array([-x[1] - x[2], x[0] + a * x[1], b + x[2] * (x[0] - cc)])

    def jac(x, p):
        a, b, cc = p
        return np.array([[0.0, -1.0, -1.0], [1.0, a, 0.0], [x[2], 0.0, x[0] - cc]])

    return ODESystem(f, 3, {"a": 0.2, "b": 0.2, "c": c}, jac=jac, name="rossler")


def brusselator_system(A=1.0, B=2.5):
    def f(x, p):
        a, b = p
        return np.array([a - (b + 1) * x[0] + x[0] ** 2 * x[1], b * x[0] - x[0] ** 2 * x[1]])

    return ODESystem(f, 2, {"A": A, "B": B}, name="brusselator")


# ---------------------------------------------------------------- Rössler Poincaré reference
def rossler_return_map(c, a=0.2, b=0.2):
    """Return map on the section y = 0 (crossing with y' = x > 0), coordinates (x, z)."""
    from scipy.integrate import solve_ivp

    def f(t, u):
        return [-u[1] - u[2], u[0] + a * u[1], b + u[2] * (u[0] - c)]

    def ev(t, u):
        return u[1]

    ev.direction = 1.0

    def P(v):
        u0 = [v[0], 0.0, v[1]]
        # leave the section first, then catch the next upward crossing
        s = solve_ivp(f, (0, 50.0), u0, method="DOP853", rtol=1e-12, atol=1e-13, events=ev)
        times = s.t_events[0]
        states = s.y_events[0]
        k = np.flatnonzero(times > 1e-6)[0]
        return np.array([states[k][0], states[k][2]]), times[k]

    return P


def rossler_pd_reference(c_lo=2.7, c_hi=2.95, iterate=1):
    """A period doubling of Rössler (a = b = 0.2) in c from the Poincaré map alone.

    With ``iterate = k`` the map is P^k (k = 1: the first PD, of the period-1 orbit; k = 2: the
    second, of the doubled orbit). For each c: fixed point of P^k by Newton (central-difference
    Jacobian, h = 1e-6) and the eigenvalue λ(c) of its 2×2 Jacobian nearest −1; the PD is the
    root of λ(c) + 1 = 0, found by the secant method. Independent of collocation. For k > 1 the
    Newton start is a point of the attractor (200 iterations of P at the first c).
    """
    v = np.array([3.6, 0.03]) if iterate == 1 else None

    def lam(c):
        nonlocal v
        P = rossler_return_map(c)

        def Pk(u):
            for _ in range(iterate):
                u = P(u)[0]
            return u

        if v is None:
            u = np.array([3.6, 0.03])
            for _ in range(200):
                u = P(u)[0]
            v = u
        h = 1e-6
        for _ in range(30):
            Pv = Pk(v)
            Jm = np.empty((2, 2))
            for j in range(2):
                e = np.zeros(2)
                e[j] = h
                Jm[:, j] = (Pk(v + e) - Pk(v - e)) / (2 * h)
            dv = np.linalg.solve(Jm - np.eye(2), -(Pv - v))
            v = v + dv
            if np.max(np.abs(dv)) < 1e-11:
                break
        ev = np.linalg.eigvals(Jm)
        return ev[np.argmin(np.abs(ev + 1))].real

    c0, c1 = c_lo, c_hi
    f0, f1 = lam(c0) + 1, lam(c1) + 1
    for _ in range(40):
        c2 = c1 - f1 * (c1 - c0) / (f1 - f0)
        f2 = lam(c2) + 1
        c0, f0, c1, f1 = c1, f1, c2, f2
        if abs(c1 - c0) < 1e-9:
            break
    return c1


def pd_system():
    """A cycle with a closed-form period doubling (5 states: circle + Möbius-twisted plane).

    (x, y): x' = (1 − r²)x − ωy, y' = ωx + (1 − r²)y, cycle r = 1, T = 2π/ω.
    v = (v1, v2): v' = [(λ1+λ2)/2 I + (λ1−λ2)/2 [[x, y], [y, −x]] + (ω/2)[[0, −1], [1, 0]]] v
    − |v|² v, with λ1 = a + b − 1, λ2 = −1. In the frame rotating at half the cycle's speed,
    w = R(−θ/2) v obeys w' = diag(λ1, λ2) w − |w|² w, so the plane's multipliers are
    −exp(λ1 T), −exp(λ2 T): PD on the curve a + b = 1 (supercritical); the doubled orbit has
    |v| = sqrt(λ1) and period 2T. A fifth state z' = −z + x²/2 adds a harmless decaying
    direction (multiplier exp(−T)) and makes the orbit not purely planar.
    """
    off = np.array([0.2, -0.1, 0.3, 0.05, -0.4])

    def f(u, p):
        a, b, w = p
        x, y, v1, v2, z = u - off
        r2 = x * x + y * y
        l1, l2 = a + b - 1.0, -1.0
        m, d = 0.5 * (l1 + l2), 0.5 * (l1 - l2)
        nv = v1 * v1 + v2 * v2
        return np.array([
            (1 - r2) * x - w * y,
            w * x + (1 - r2) * y,
            (m + d * x) * v1 + d * y * v2 - 0.5 * w * v2 - nv * v1,
            d * y * v1 + (m - d * x) * v2 + 0.5 * w * v1 - nv * v2,
            -z + 0.5 * x * x,
        ])

    return ODESystem(f, 5, {"a": 0.3, "b": 0.5, "omega": 1.3}, name="pd_example"), off


# ---------------------------------------------------------------- orbit guesses (shared by tests)
def circle_guess(system, off, radius, omega, comps=(0, 1), n=101):
    """OrbitGuess of the circle ``off + radius (cos ωt, sin ωt)`` in components ``comps``."""
    from bifurcation.cycles import OrbitGuess

    T = 2 * np.pi / omega
    t = np.linspace(0, T, n)
    x = np.tile(off, (len(t), 1))
    x[:, comps[0]] += radius * np.cos(omega * t)
    x[:, comps[1]] += radius * np.sin(omega * t)
    return OrbitGuess(system, t, x)
