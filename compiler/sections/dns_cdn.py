"""DNS, CDN side: the records that alias the distribution, built beside it in CloudFront's region.

A section feeds one stack in one place. When the primary region is not CloudFront's, the distribution is in
us-east-1's edge stack, and its records can only alias it there (its domain name is a GetAtt of that stack); this
second registration builds them. The language, checks and builder are in dns.py (see ``records_here``).
"""

from __future__ import annotations

from .base import CDN, Section
from .dns import STACK, build, needed_with_cdn

SECTION = Section("dns-cdn", build=build, stack=STACK, needed=needed_with_cdn, whole_spec=True, regions=CDN)
