"""Settings of a continuation run: step sizes, Newton tolerances, limits, what to detect.

Every continuation routine (:func:`bifurcation.continue_equilibria`,
:func:`bifurcation.continue_codim2`) accepts these fields as keyword arguments, or a
:class:`ContinuationSettings` object as ``settings=``. Unknown keywords raise a
:class:`~simulate.validation.ParameterError` naming the valid fields.

Examples
--------
>>> s = ContinuationSettings.from_kwargs(ds=0.02, max_points=100)
>>> s.ds, s.ds_max
(0.02, 0.1)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from simulate.validation import ParameterError, check_number, check_positive_int

__all__ = ["ContinuationSettings", "blas_limit"]


def blas_limit(threads):
    """Context manager limiting BLAS threads (no-op without ``threadpoolctl`` or for None)."""
    import contextlib

    if threads is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    return threadpool_limits(limits=int(threads), user_api="blas")


@dataclass
class ContinuationSettings:
    """Numerical settings of pseudo-arclength continuation.

    The unknown is ``u = (x, p)`` (state and free parameter(s), plus auxiliary unknowns for
    curves of bifurcations). A step moves along the tangent ``t`` (``|t| = 1``, Euclidean norm
    in ``u``), ``u_pred = u_k + ds t_k``, and the Newton corrector solves
    ``F(u) = 0, t_k . (u - u_k) = ds``.

    Parameters
    ----------
    ds : float
        Initial step (arclength in ``u``). Default 0.01.
    ds_min : float
        Smallest step; a failing step at ``ds_min`` ends the branch (reason ``"min_step"``,
        or ``"newton"``, ``"singular"``, ``"nonfinite"`` by the cause). Default 1e-7.
    ds_max : float
        Largest step. Default 0.1.
    max_points : int
        Maximum number of points in each direction from the start. Default 500.
    newton_tol : float
        Convergence when ``|F(u)|_inf <= newton_tol`` and the last Newton update is below
        ``newton_tol * (1 + |u|_inf)``. Default 1e-10.
    newton_max_iter : int
        Newton iterations per step before the step is halved. Default 8.
    step_increase, step_decrease : float
        Factors applied to ``ds`` after an easy step (at most ``fast_newton`` iterations) and
        after a failed one. Defaults 1.5 and 0.5.
    fast_newton : int
        A step converging in at most this many iterations enlarges ``ds``. Default 3.
    max_angle_cos : float
        A step whose new tangent makes ``t_k . t_{k+1} < max_angle_cos`` is rejected and
        retried smaller (guards against jumping between branches). Default 0.9.
    state_bounds : dict or None
        ``{state_name_or_index: (lo, hi)}``: the branch stops (reason ``"bound"``), exactly on
        the bound, when a state leaves the box. Default None.
    detect_lp, detect_hb, detect_bp : bool
        Detect and locate folds, Hopf points and branch points. Default True.
    detect_codim2 : bool
        On curves of bifurcations: detect CP, BT, GH, ZH, HH. Default True.
    locate_tol : float
        Tolerance (in the arclength coordinate ``s`` of the bracketing interval) to which
        special points are located by Brent's method on the test function. Default 1e-12.
    im_tol : float
        Eigenvalues with ``|Im| <= im_tol * max(1, |lambda|)`` count as real (a Hopf point
        needs a crossing pair with non-zero imaginary part). Default 1e-8.
    stability_tol : float
        A point is stable when every eigenvalue has ``Re < stability_tol`` (default 0.0:
        strictly negative real parts).
    sparse : bool or None
        Use scipy.sparse LU for the bordered Newton systems. None (default): when the system
        has ``jac_sparsity`` and ``n_states >= sparse_threshold``.
    sparse_threshold : int
        See ``sparse``. Default 400.
    fd_step : float
        Relative step of the finite differences used for second and third derivatives
        (normal forms, derivatives of defining systems). Default 1e-4.
    normal_forms : bool
        Compute normal-form coefficients (``l1`` of Hopf, ``a`` of folds). Default True.
    state_scale : float or None
        Continuation runs in ``u = (x / state_scale, p)``, so that the arclength (and the
        steps ``ds``) weigh the relative change of the state against the change of the
        parameter. None (default): ``max(1, |x0|_2)`` from the corrected start.
    direction : str
        ``"both"`` (default), ``"forward"`` (increasing free parameter at the start) or
        ``"backward"``.
    verbose : bool
        Print one line per accepted step. Default False.
    blas_threads : int or None
        Limit of BLAS/LAPACK threads during the run (via ``threadpoolctl`` when installed).
        Default 1: for the matrix sizes of continuation (up to a few hundred) a single thread
        is fastest, and multithreaded BLAS on a busy machine can be 100 times slower. None
        leaves the BLAS setting alone.
    """

    ds: float = 0.01
    ds_min: float = 1e-7
    ds_max: float = 0.1
    max_points: int = 500
    newton_tol: float = 1e-10
    newton_max_iter: int = 8
    step_increase: float = 1.5
    step_decrease: float = 0.5
    fast_newton: int = 3
    max_angle_cos: float = 0.9
    state_bounds: dict | None = None
    detect_lp: bool = True
    detect_hb: bool = True
    detect_bp: bool = True
    detect_codim2: bool = True
    locate_tol: float = 1e-12
    im_tol: float = 1e-8
    stability_tol: float = 0.0
    sparse: bool | None = None
    sparse_threshold: int = 400
    fd_step: float = 1e-4
    normal_forms: bool = True
    state_scale: float | None = None
    direction: str = "both"
    verbose: bool = False
    blas_threads: int | None = 1
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_kwargs(cls, settings=None, **kwargs) -> ContinuationSettings:
        """Settings from keyword arguments (and an optional base ``settings`` object)."""
        base = ContinuationSettings() if settings is None else settings
        if isinstance(base, dict):
            kwargs = {**base, **kwargs}
            base = ContinuationSettings()
        names = {f.name for f in fields(cls)} - {"extra"}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise ParameterError(
                f"unknown continuation setting(s) {unknown}; valid settings are "
                f"{sorted(names)}"
            )
        values = {**asdict(base), **kwargs}
        s = cls(**values)
        s.validate()
        return s

    def validate(self) -> None:
        """Check every setting; raise ``ParameterError`` naming the setting, the value and the
        valid range."""
        check_number("ds", self.ds, lo=0.0, lo_open=True)
        check_number("ds_min", self.ds_min, lo=0.0, lo_open=True, hi=self.ds)
        check_number("ds_max", self.ds_max, lo=self.ds)
        check_positive_int("max_points", self.max_points)
        check_number("newton_tol", self.newton_tol, lo=0.0, lo_open=True, hi=1.0)
        check_positive_int("newton_max_iter", self.newton_max_iter)
        check_number("step_increase", self.step_increase, lo=1.0)
        check_number("step_decrease", self.step_decrease, lo=0.0, hi=1.0, lo_open=True,
                     hi_open=True)
        check_number("max_angle_cos", self.max_angle_cos, lo=-1.0, hi=1.0)
        check_number("locate_tol", self.locate_tol, lo=0.0, lo_open=True)
        check_number("fd_step", self.fd_step, lo=0.0, lo_open=True, hi=0.1)
        if self.direction not in ("both", "forward", "backward"):
            raise ParameterError(
                f"direction = {self.direction!r} is not one of 'both', 'forward', 'backward'"
            )

    def as_dict(self) -> dict:
        """The settings as a plain dict (stored with every branch for provenance)."""
        return asdict(self)
