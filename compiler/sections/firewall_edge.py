"""Firewall, CDN side: the CloudFront-scope web ACLs of `firewall.<name>` entries attached to the cdn.

A section feeds one stack, and a CloudFront web ACL belongs with the distribution in the edge stack (in
us-east-1), so this second registration builds those; the language, checks and builder are in firewall.py.
"""

from __future__ import annotations

from .base import CDN, Section
from .firewall import EDGE_STACK, build_edge, needs_edge

SECTION = Section("firewall-edge", build=build_edge, stack=EDGE_STACK, needed=needs_edge, whole_spec=True, regions=CDN)
