"""The security groups of `access:` (the bastion's, the Client VPN's) and the rules between them and what they reach.

They go to the security stack, beside the groups of the fleets, databases and caches they admit into, so each rule
names its groups directly; the access stack imports the bastion's and the VPN's groups. See access.py.
"""

from __future__ import annotations

from .access import build_rules, needed_rules
from .base import Section
from .security import STACK

SECTION = Section("access-rules", build=build_rules, stack=STACK, needed=needed_rules, whole_spec=True)
