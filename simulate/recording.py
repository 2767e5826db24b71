"""Shared plumbing of the simulators' run loops: chunked recording and the progress bar.

Every engine records in chunks of simulated time. :class:`ChunkSink` either streams each chunk
to a :class:`~simulate.trajectory.TrajectoryWriter` (memory independent of ``t_end``) or keeps
copies in memory and concatenates them at the end; :func:`progress_bar` gives a tqdm bar in
simulated milliseconds, or ``None`` when disabled.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ChunkSink", "progress_bar"]


class ChunkSink:
    """Collect recorded chunks in memory, or stream them to a TrajectoryWriter.

    Parameters
    ----------
    writer : TrajectoryWriter or None
        Stream to this writer; ``None`` keeps the chunks in memory.
    """

    def __init__(self, writer=None):
        self.writer = writer
        self.parts: dict = {}

    def append(self, name: str, arr) -> None:
        """Add one chunk of array ``name`` (first axis = time). In memory the chunk is copied,
        so kernels may reuse their buffers."""
        arr = np.asarray(arr)
        if self.writer is not None:
            if arr.shape[0] or name not in self.parts:
                self.writer.append(name, arr)
                self.parts.setdefault(name, True)
        else:
            self.parts.setdefault(name, []).append(arr.copy())

    def arrays(self) -> dict:
        """The in-memory chunks of every array, concatenated along the first axis."""
        return {k: np.concatenate(v, axis=0) for k, v in self.parts.items()}


def progress_bar(enabled: bool, t_end: float, desc: str, **kwargs):
    """A tqdm bar over ``t_end`` simulated ms (``None`` when disabled or tqdm is missing)."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=float(t_end), unit="ms", desc=desc, leave=False, **kwargs)
