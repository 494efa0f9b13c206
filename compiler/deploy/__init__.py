"""Deploy an environment's compiled stacks as CloudFormation StackSets: plan, apply, diff, destroy.

One StackSet per stack and region, named ``<system>-<env>-<stack>-<region>``, administered from the
environment's primary region, with one instance per target account in the stack's region. StackSets
fan out across accounts; ivc never loops CreateStack over accounts itself. Stacks go in the waves the
manifest gives, so every import exists before the stack that needs it.

- ``aws``: clients that wait a bounded time, retries, and failures said in one line.
- ``output``: the compiled output (manifest and templates), checked before any AWS call.
- ``plan``: what the environment wants (settings, targets) and what deploying it does (steps).
- ``changes``: what changes per resource, and what CloudFormation replaces, from the resource schemas.
- ``releases``: ``--set``/``--reset``: a service's image tag or a function's code as the StackSet's parameters.
- ``stacksets``: the StackSets engine that reads, applies, waits for and destroys.
- ``commands``: ``deploy``, ``diff`` and ``destroy`` as cli.py calls them.
"""

from __future__ import annotations

from ..errors import DeployError
from .commands import Outcome, deploy, destroy, diff

__all__ = ["DeployError", "Outcome", "deploy", "destroy", "diff"]
