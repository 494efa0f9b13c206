"""What a builder knows besides its own section: who, where, and how to name things."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from troposphere import AWSObject, Export, ImportValue, Output, Parameter, Tags

MANAGED_BY = "ivc"
RESERVED_TAGS = ("System", "Environment", "ManagedBy")
PROTECTED_NAMES = ("prod", "production")  # always protected, whatever deploy.protected says


def is_protected(environment: str, spec: dict[str, Any]) -> bool:
    """Whether ``environment`` is protected: named prod or production, or ``deploy.protected: true``."""
    return environment in PROTECTED_NAMES or bool((spec.get("deploy") or {}).get("protected"))


@dataclass(frozen=True)
class Context:
    """One environment in one region, as builders see it."""

    system: str
    environment: str
    region: str
    role: str  # "primary", "secondary", or "edge" (CloudFront's region, when it is neither)
    tags: tuple[tuple[str, str], ...] = ()
    spec: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)  # the whole effective spec, read-only

    def name(self, *parts: str) -> str:
        """A physical name: ``<system>-<environment>-<parts...>``."""
        return "-".join((self.system, self.environment, *parts))

    def export_name(self, stack: str, output: str) -> str:
        """Export names are fixed (not derived from stack names) so StackSets can import them."""
        return f"{self.system}-{self.environment}-{stack}-{output}"

    def imported(self, stack: str, output: str) -> ImportValue:
        """A value another stack of this environment exports."""
        return ImportValue(self.export_name(stack, output))

    @property
    def primary_region(self) -> str:
        return str(self.spec["regions"]["primary"])

    @property
    def protected(self) -> bool:
        """Protected environments keep what they log and refuse to delete their front door (see ``is_protected``)."""
        return is_protected(self.environment, self.spec)

    def log_group_name(self, *parts: str) -> str:
        """Log groups ivc creates live under /<system>/<environment>/, which the environment key may encrypt."""
        return "/" + "/".join((self.system, self.environment, *parts))

    def resource_tags(self, name: str | None = None) -> Tags:
        """The spec's tags plus System, Environment, ManagedBy and an optional Name."""
        tags: dict[str, str] = dict(self.tags)
        tags.update(System=self.system, Environment=self.environment, ManagedBy=MANAGED_BY)
        if name:
            tags["Name"] = name
        return Tags(tags)


@dataclass
class Fragment:
    """What a section builder returns: resources and the outputs other stacks may import.

    Each resource remembers the spec path it came from (``at`` when it was added: a builder sets it to
    the item it is building), so problems found later in the template are reported at the spec's line.
    """

    resources: list[AWSObject] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    parameters: list[Parameter] = field(default_factory=list)  # releases (`ivc deploy --set`) and values supplied at deploy
    at: tuple[Any, ...] = ()
    origins: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)  # (logical ID or Outputs/<name>, spec path)
    # Stacks of other regions (region, stack) that must be deployed first. Exports do not cross regions, so what a
    # builder needs from another region it computes (names, domains) and says here that it must exist already.
    after: set[tuple[str, str]] = field(default_factory=set)

    def add(self, resource: AWSObject) -> Any:
        self.resources.append(resource)
        self.origins.append((resource.title, self.at))
        return resource

    def parameter(self, parameter: Parameter) -> Parameter:
        """A template parameter, remembered at the spec path being built like a resource."""
        self.parameters.append(parameter)
        self.origins.append((f"Parameters/{parameter.title}", self.at))
        return parameter

    def release(self, title: str, default: str, description: str) -> Parameter:
        """A deploy-time parameter whose default is the spec's value, so a release needs no recompile."""
        return self.parameter(Parameter(title, Type="String", Default=default, Description=description, MinLength=1))

    def export(self, ctx: Context, stack: str, name: str, value: Any, description: str) -> None:
        """An output other stacks import by a fixed name."""
        self.outputs.append(Output(name, Description=description, Value=value, Export=Export(ctx.export_name(stack, name))))
        self.origins.append((f"Outputs/{name}", self.at))


def camel(name: str) -> str:
    """``ecr-api`` -> ``EcrApi``: spec names as parts of logical IDs."""
    return "".join(part[:1].upper() + part[1:] for part in name.replace("_", "-").replace(".", "-").split("-"))
