"""Retention strategy (chapter 08): whom to give which offer, under a budget, and what each rule earns.

- :mod:`.policies`: the one budget rule, true values and IPW estimates of a policy (re-exported here:
  the package's surface is ``policies.__all__``);
- :mod:`.learners`: each offer's effect on profit from an experiment (econml's DR learner and policy
  tree) and the practitioner's checks;
- :mod:`.study`: the policy set, the size study and the cost of exploring, over simulated worlds;
- :mod:`.real`: the same learners on a real experiment (Hillstrom's e-mail test).
"""

from . import policies
from .policies import *  # noqa: F403 - the package's surface is exactly policies.__all__

__all__ = list(policies.__all__)
