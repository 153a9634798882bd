"""MedStream model training and ONNX export."""

import os as _os

# Debian's torch calls into OpenBLAS (pthreads) for matrix products while running its own
# OpenMP threads; both pools on the same 1-2 cores oversubscribe them and made a training step
# ~5x slower here. torch's own threads (torch.set_num_threads) do the parallel work. Must be set
# before torch is first imported.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
