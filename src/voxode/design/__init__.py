"""Design studies on the simulator: designs compared on shared seeds (pristine vs bi-layer vs
reverse bi-layer), rate tests next to measured cells (names imported on first use)."""

from voxode.lazy import lazy_exports

_WHERE = {
    "Comparison": "compare",
    "compare_designs": "compare",
    "RateTest": "rate",
    "rate_test": "rate",
    "DesignError": "study",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
