"""A slow run at K = 10^4 (models.md §4): procedural connectivity, nothing stored per synapse.

K = 10^4, c = 2 (N = 40 000, 5·10^8 synapses), a = 0.001 (log rule from a(100) = 0.002),
nu_x = 5 Hz, 100 ms at dt = 0.05 ms. Measured (docs/lif_hybrid.md): 42 s CPU, mean rates
9.73 Hz (E and I), peak RSS 224 MB; the local Siegert self-consistency predicts 9.8 Hz.
Checks: the synapse table is never built (memory stays far below the 3 GB a stored table
would need) and the network settles in the low-rate regime, not the saturated one (sanity
band 2–30 Hz around the mean-field value; the diffusion approximation's error at this K is
not budgeted here).
"""

from __future__ import annotations

import resource

import pytest

from simulate.lif.conductance import ConductanceLIFNetwork

pytestmark = pytest.mark.slow


def test_k1e4_procedural_run():
    net = ConductanceLIFNetwork(K=10_000, c=2, scaling="log", K0=100, a0=0.002, nu_x=5.0,
                                dt=0.05, connectivity="procedural")
    assert net.n_synapses() == 500_000_000
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    traj = net.run(100.0, seed=0, progress=False, record_spikes=False, record_dt=10.0,
                   t_burn=0.0)
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert traj.meta["connectivity"] == "procedural" and traj.meta["n_synapses"] == -1
    assert (rss1 - rss0) * 1024 < 1.0e9          # ru_maxrss is in kB on Linux
    for q in ("E", "I"):
        assert 2.0 < traj.rates_hz[q] < 30.0
