"""A plugin rule: the 2015 fast rule, but with the voltage taken *after* the spike's jump.

Hypothesis to test: does it matter whether the rule sees V_i before or after the jump W_ij?
Load it with ``--plugin docs/examples/postjump_rule.py``; then ``--set fast_rule=postjump``
works in every run, sweep and figure, and Fig. 1E compares it with the built-in rules.
"""

from locallearn.definitions import Param
from locallearn.models.spiking_rules import ETA_F, FastRule

postjump = FastRule(
    name="postjump",
    label="2015 rule, post-jump V",
    colour="#d95f02",
    on_pre=("V_post += w\n"
            "w = w - eta_f_post*plastic_post*(V_post + gamma_post*w)"),
    params=(ETA_F, Param("gamma", 0.5, "regulariser of the post-jump rule, dimensionless")),
    rate_param="eta_f",
    rates=(0.005, 0.01, 0.02, 0.04, 0.08),
    quick_rates=(0.01, 0.02, 0.04, 0.08),
    doc="dW_ij = -eta_f (V_i + gamma W_ij) at each spike of j, V_i after the jump.",
)
