"""ODESystem: an autonomous system dx/dt = f(x, p), the input of every bifurcation routine.

``bifurcation`` knows nothing about neurons: any right-hand side a user writes, plain Python or
numba-compiled, works the same way.

Conventions (binding, see design.md):

- ``rhs(x, p) -> dx/dt`` with ``x`` a float64 array of shape (n_states,) and ``p`` a float64
  array of shape (len(params),) ordered as ``list(params)``.
- ``jac(x, p) -> (n, n)`` and ``dfdp(x, p) -> (n, m)`` when given; otherwise central
  differences, with column grouping when a sparsity pattern is known.
- ``outputs``: named functions of (x, p) evaluated along every branch.

Examples
--------
>>> import numpy as np
>>> from bifurcation import ODESystem
>>> def brusselator(x, p):
...     A, B = p
...     return np.array([A - (B + 1) * x[0] + x[0] ** 2 * x[1], B * x[0] - x[0] ** 2 * x[1]])
>>> sys = ODESystem(brusselator, n_states=2, params={"A": 1.0, "B": 1.5})
>>> sys.param_index["B"]
1
>>> sys.rhs(np.array([1.0, 1.5]), sys.p0)
array([0., 0.])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

__all__ = ["ODESystem", "SystemError_"]


class SystemError_(ValueError):
    """Bad definition of an ODE system, or a non-finite right-hand side."""


def _color_columns(pattern: np.ndarray) -> np.ndarray:
    """Greedy grouping of structurally orthogonal columns (for sparse finite differences)."""
    n = pattern.shape[1]
    groups = -np.ones(n, dtype=np.int64)
    rows_of = [np.flatnonzero(pattern[:, j]) for j in range(n)]
    used: list[set] = []
    for j in range(n):
        rj = set(rows_of[j].tolist())
        for g, rows in enumerate(used):
            if not (rows & rj):
                groups[j] = g
                rows |= rj
                break
        else:
            groups[j] = len(used)
            used.append(set(rj))
    return groups


class ODESystem:
    """An autonomous ODE system with named parameters.

    Parameters
    ----------
    rhs : callable
        ``rhs(x, p) -> ndarray (n_states,)``, plain Python or numba-compiled.
    n_states : int
        Dimension of the state.
    params : mapping str -> float
        Parameter names and default values; their order defines the layout of ``p``.
    jac : callable, optional
        ``jac(x, p) -> ndarray (n_states, n_states)``, the Jacobian ∂f/∂x.
    dfdp : callable, optional
        ``dfdp(x, p) -> ndarray (n_states, n_params)``, the derivative ∂f/∂p.
    outputs : mapping str -> callable, optional
        Named scalar functions ``g(x, p)`` stored along branches (e.g. population rates).
    state_names : list of str, optional
        Names of the state components (default ``x0, x1, ...``).
    jac_sparsity : array_like of bool, optional
        Structural non-zeros of ∂f/∂x; used to group columns when the Jacobian is derived by
        finite differences.
    name : str, optional
        Label used in messages and plots.

    Attributes
    ----------
    n_states : int
    params : dict[str, float]
        Default parameter values.
    param_index : dict[str, int]
        Position of each parameter in ``p``.
    state_names : list of str
    outputs : dict[str, callable]
    p0 : ndarray
        Default parameter vector.
    """

    def __init__(
        self,
        rhs: Callable,
        n_states: int,
        params: Mapping[str, float],
        jac: Callable | None = None,
        dfdp: Callable | None = None,
        outputs: Mapping[str, Callable] | None = None,
        state_names: list[str] | None = None,
        *,
        jac_sparsity=None,
        name: str | None = None,
    ):
        if not callable(rhs):
            raise SystemError_(f"rhs must be callable, got {type(rhs).__name__}")
        if int(n_states) != n_states or n_states < 1:
            raise SystemError_(f"n_states = {n_states!r} is outside the valid range [1, inf)")
        self.rhs_func = rhs
        self.n_states = int(n_states)
        self.params = {str(k): float(v) for k, v in dict(params).items()}
        self.param_index = {k: i for i, k in enumerate(self.params)}
        self.jac_func = jac
        self.dfdp_func = dfdp
        self.outputs = dict(outputs or {})
        if state_names is None:
            state_names = [f"x{i}" for i in range(self.n_states)]
        if len(state_names) != self.n_states:
            raise SystemError_(
                f"state_names has {len(state_names)} names for n_states = {self.n_states}"
            )
        self.state_names = list(state_names)
        self.name = name or getattr(rhs, "__name__", "system")
        self.jac_sparsity = None if jac_sparsity is None else np.asarray(jac_sparsity, bool)
        self._groups = None
        self.counts = {"rhs": 0, "jac": 0}

    # ------------------------------------------------------------------ parameters
    @property
    def p0(self) -> np.ndarray:
        return np.array(list(self.params.values()), dtype=np.float64)

    def param_vector(self, **overrides) -> np.ndarray:
        """The default parameter vector with some values replaced by name."""
        p = self.p0
        for k, v in overrides.items():
            if k not in self.param_index:
                raise SystemError_(
                    f"unknown parameter {k!r}; this system has {', '.join(self.params)}"
                )
            p[self.param_index[k]] = float(v)
        return p

    def with_params(self, **overrides) -> ODESystem:
        """A copy of the system with new default parameter values."""
        new = object.__new__(ODESystem)
        new.__dict__.update(self.__dict__)
        new.params = dict(self.params)
        p = self.param_vector(**overrides)
        new.params = {k: float(p[i]) for i, k in enumerate(self.params)}
        new.counts = {"rhs": 0, "jac": 0}
        return new

    def params_dict(self, p: np.ndarray) -> dict:
        """The parameter vector ``p`` as a name -> value dict."""
        return {k: float(p[i]) for k, i in self.param_index.items()}

    # ------------------------------------------------------------------ evaluation
    def _as_p(self, p) -> np.ndarray:
        if p is None:
            return self.p0
        if isinstance(p, Mapping):
            return self.param_vector(**p)
        return np.ascontiguousarray(p, dtype=np.float64)

    def rhs(self, x, p=None) -> np.ndarray:
        """f(x, p) as a float64 array of shape (n_states,)."""
        self.counts["rhs"] += 1
        x = np.ascontiguousarray(x, dtype=np.float64)
        return np.asarray(self.rhs_func(x, self._as_p(p)), dtype=np.float64)

    __call__ = rhs

    def _fd_steps(self, x):
        return np.cbrt(np.finfo(float).eps) * np.maximum(1.0, np.abs(x))

    def jacobian(self, x, p=None) -> np.ndarray:
        """∂f/∂x at (x, p): the analytic Jacobian if given, else central differences."""
        p = self._as_p(p)
        x = np.ascontiguousarray(x, dtype=np.float64)
        self.counts["jac"] += 1
        if self.jac_func is not None:
            return np.asarray(self.jac_func(x, p), dtype=np.float64)
        return self.fd_jacobian(x, p)

    def fd_jacobian(self, x, p=None) -> np.ndarray:
        """Central-difference Jacobian (grouped columns when ``jac_sparsity`` is set)."""
        p = self._as_p(p)
        x = np.array(x, dtype=np.float64)
        n = self.n_states
        h = self._fd_steps(x)
        J = np.zeros((n, n))
        if self.jac_sparsity is not None:
            if self._groups is None:
                self._groups = _color_columns(self.jac_sparsity)
            for g in range(int(self._groups.max()) + 1):
                cols = np.flatnonzero(self._groups == g)
                d = np.zeros(n)
                d[cols] = h[cols]
                df = self.rhs(x + d, p) - self.rhs(x - d, p)
                for j in cols:
                    rows = self.jac_sparsity[:, j]
                    J[rows, j] = df[rows] / (2 * h[j])
            return J
        for j in range(n):
            xp = x.copy()
            xm = x.copy()
            xp[j] += h[j]
            xm[j] -= h[j]
            J[:, j] = (self.rhs(xp, p) - self.rhs(xm, p)) / (2 * h[j])
        return J

    def dfdp(self, x, p=None, names=None) -> np.ndarray:
        """∂f/∂p at (x, p), columns for ``names`` (default all parameters)."""
        p = self._as_p(p)
        x = np.ascontiguousarray(x, dtype=np.float64)
        idx = list(range(len(p))) if names is None else [self.param_index[k] for k in names]
        if self.dfdp_func is not None:
            return np.asarray(self.dfdp_func(x, p), dtype=np.float64)[:, idx]
        out = np.zeros((self.n_states, len(idx)))
        for c, i in enumerate(idx):
            hi = np.cbrt(np.finfo(float).eps) * max(1.0, abs(p[i]))
            pp = p.copy()
            pm = p.copy()
            pp[i] += hi
            pm[i] -= hi
            out[:, c] = (self.rhs(x, pp) - self.rhs(x, pm)) / (2 * hi)
        return out

    def eval_outputs(self, x, p=None) -> dict:
        """Every named output at (x, p)."""
        p = self._as_p(p)
        return {k: float(g(np.asarray(x, float), p)) for k, g in self.outputs.items()}

    def check_finite(self, x, p=None) -> np.ndarray:
        """f(x, p), raising :class:`SystemError_` if it is not finite."""
        f = self.rhs(x, p)
        if not np.all(np.isfinite(f)):
            bad = np.flatnonzero(~np.isfinite(f))[:5]
            raise SystemError_(
                f"{self.name}: the right-hand side is not finite in components "
                f"{[self.state_names[i] for i in bad]}"
            )
        return f

    # ------------------------------------------------------------------ pickling
    def __getstate__(self):
        state = dict(self.__dict__)
        state["_groups"] = None
        return state

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={v:g}" for k, v in list(self.params.items())[:6])
        more = ", ..." if len(self.params) > 6 else ""
        return f"ODESystem({self.name!r}, n_states={self.n_states}, params={{{ps}{more}}})"

