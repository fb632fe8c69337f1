"""matplotlib backend `module://lmc_inline_backend` for the python kernel.

Figures draw with Agg; `plt.show()` sends them to the agent as PNG images.
matplotlib reads a backend's names with vars(), so this must be a real module.
"""

from __future__ import annotations

import sys

from matplotlib.backend_bases import FigureManagerBase as FigureManager  # noqa: F401
from matplotlib.backends.backend_agg import FigureCanvasAgg as FigureCanvas  # noqa: F401


def show(*args: object, **kwargs: object) -> None:
    """Send every open figure to the agent, then close them."""
    sys.modules["lmc_python_kernel"]._show_figures()
