"""``MarkovIFNetwork``: the user-facing object of the discrete-state stochastic IF network.

Integrators (``method=``, models.md §1):

- ``"fixed-step"`` (default): the published scheme of the MA paper's released code, step
  ``dt``: Gaussian external input, expected-drift kick release. An approximation of the jump
  process, not a convergent discretisation of it.
- ``"exact"``: the continuous-time jump process, event by event; ``voltages="real"`` (default)
  or ``"integer"`` (Li–Chariker–Young form with stochastic rounding).
- ``"tau-leap"``: Poisson counts of kicks and releases per step, each applied as a jump;
  converges to ``"exact"`` as ``dt`` -> 0.
"""

from __future__ import annotations

from ..validation import check_choice, check_number
from .params import PRESETS, resolve, validate

__all__ = ["MarkovIFNetwork", "METHODS"]

METHODS = ("fixed-step", "exact", "tau-leap")


class MarkovIFNetwork:
    """The discrete-state stochastic integrate-and-fire E/I network of models.md §1.

    Parameters
    ----------
    preset : str, optional
        ``"ma-default"`` (the default values), ``"lcy"``, ``"lcy-homogeneous"``,
        ``"lcy-regular"``, ``"lcy-synchronized"``; keywords override the preset.
    method : {"fixed-step", "exact", "tau-leap"}
        Integrator, chosen at construction.
    voltages : {"real", "integer"}
        Voltage representation of ``"exact"`` (integer: Li–Chariker–Young stochastic rounding).
    **params
        Any parameter of :data:`simulate.markov_if.params.DEFAULTS` by keyword: ``n_e``,
        ``n_i``, ``m`` (threshold M), ``m_r`` (reversal M_r), ``lam`` (both external rates,
        kicks per ms) or ``lam_e``/``lam_i``, ``tau_ee``, ``tau_ie``, ``tau_ei``, ``tau_ii``
        (ms), ``tau_r`` (ms), ``p_ee``..``p_ii`` (``p_ei``: I onto E), ``s_ee``..``s_ii``,
        ``tau_m`` (leak, ms, 0 = off), ``dt`` (ms), ``topology`` (``"ei"`` or
        ``"two-assembly"``), ``p_ee_x``/``s_ee_x`` (between assemblies), ``size_scaling``
        (``"S"``, ``"p"``, ``"none"``), ``n_e_ref``/``n_i_ref``, ``connectivity``
        (``"redraw"`` per spike, or ``"fixed"``), ``conn_seed``.

    Attributes
    ----------
    params : dict
        Every parameter, validated.
    spec : NetworkSpec
        Resolved arrays shared with the reductions.

    Examples
    --------
    >>> import simulate
    >>> net = simulate.MarkovIFNetwork(p_ei=0.8)
    >>> net.params["p_ei"]
    0.8
    >>> exact = simulate.MarkovIFNetwork(method="exact")
    >>> lcy = simulate.MarkovIFNetwork(preset="lcy-regular")
    >>> lcy.params["tau_ee"]
    2.0
    """

    model_name = "markov-if"

    def __init__(self, preset: str | None = None, *, method: str = "fixed-step",
                 voltages: str = "real", **params):
        if preset is not None:
            check_choice("preset", preset, PRESETS)
            params = {**PRESETS[preset], **params}
        self.preset = preset
        self.method = check_choice("method", method, METHODS)
        self.voltages = check_choice("voltages", voltages, ("real", "integer"))
        self.params = validate(params)
        self.spec = resolve(self.params)

    @property
    def populations(self) -> tuple:
        return self.spec.populations

    @property
    def sizes(self) -> dict:
        return {q: int(n) for q, n in zip(self.spec.populations, self.spec.sizes)}

    def with_params(self, **changes) -> MarkovIFNetwork:
        """A new network with some parameters changed (``method``/``voltages`` kept unless
        given)."""
        method = changes.pop("method", self.method)
        voltages = changes.pop("voltages", self.voltages)
        return MarkovIFNetwork(method=method, voltages=voltages, **{**self.params, **changes})

    def run(self, t_end: float, seed: int | None = 0, **recording):
        """Simulate for ``t_end`` ms and return a :class:`simulate.Trajectory`.

        Parameters
        ----------
        t_end : float
            Simulated time, ms.
        seed : int
            Root seed; the same seed gives the same trajectory on the same machine and build.
        **recording
            What to record and where, see :func:`simulate.markov_if.engine.run_network`.
        """
        t_end = check_number("t_end", t_end, 0.0, 1e9, lo_open=True, unit="ms")
        from .engine import run_network

        return run_network(self, t_end=t_end, seed=seed, **recording)

    def __repr__(self) -> str:
        return (f"MarkovIFNetwork(method={self.method!r}, populations={self.populations}, "
                f"sizes={self.sizes})")
