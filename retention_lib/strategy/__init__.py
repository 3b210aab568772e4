"""Retention strategy (chapter 08): whom to give which offer, under a budget, and what each rule earns.

Everything lives in :mod:`.policies`; this package re-exports its public names (its ``__all__``).
"""

from . import policies
from .policies import *  # noqa: F403 - the package's surface is exactly policies.__all__

__all__ = list(policies.__all__)
