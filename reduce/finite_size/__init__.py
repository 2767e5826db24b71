"""Finite-N stochastic reductions: population chains and the linear-noise approximation."""

from .chain import ChainPath, PopulationChain
from .lna import (
    hz_to_omega,
    omega_to_hz,
    output_spectrum,
    spectral_density,
    stationary_covariance,
    transfer_function,
)

__all__ = [
    "PopulationChain",
    "ChainPath",
    "stationary_covariance",
    "spectral_density",
    "output_spectrum",
    "transfer_function",
    "hz_to_omega",
    "omega_to_hz",
]

from .ma_chain import FiniteMAChain, FiniteMAResult  # noqa: E402
from .ma_lna import MALinearNoise, find_equilibrium, ma_channels  # noqa: E402

__all__ += ["FiniteMAChain", "FiniteMAResult", "MALinearNoise", "find_equilibrium",
            "ma_channels"]
