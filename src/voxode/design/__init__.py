"""Design studies on the simulator: designs compared on shared seeds (pristine vs bi-layer vs
reverse bi-layer), rate tests next to measured cells."""

from voxode.design.compare import Comparison, compare_designs
from voxode.design.rate import RateTest, rate_test
from voxode.design.study import DesignError

__all__ = ["Comparison", "compare_designs", "RateTest", "rate_test", "DesignError"]
