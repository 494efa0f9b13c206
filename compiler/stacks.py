"""Assemble builders' fragments into stacks per environment and region, and order them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from troposphere import Template

from . import __version__, sections, split
from .context import Context, Fragment
from .errors import Diagnostic, Mark, SpecError
from .loader import find
from .sections import overrides
from .sections.site import site_spec
from .validate import Environment


@dataclass
class Stack:
    """One CloudFormation template of one environment, in one region."""

    name: str
    region: str
    role: str
    template: dict[str, Any]
    exports: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    wave: int = 0
    after: list[str] = field(default_factory=list)  # keys (region/name) of stacks deployed first, beyond its imports
    origins: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # logical ID -> spec path it came from

    @property
    def layer(self) -> str:
        """The layer this stack is (a part of): ``data`` for ``data`` and for ``data-2`` (see split.py)."""
        return split.layer_of(self.name)

    @property
    def key(self) -> str:
        return f"{self.region}/{self.name}"

    @property
    def file(self) -> str:
        """Path of the template inside the environment's output folder."""
        return f"{self.region}/{self.name}.json"

    @property
    def resource_count(self) -> int:
        return len(self.template.get("Resources", {}))

    @property
    def parameters(self) -> list[str]:
        return sorted(self.template.get("Parameters", {}))

    @property
    def deploy_body(self) -> str:
        return minified(self.template)

    @cached_property
    def body(self) -> str:
        """The template's bytes as written to output/ (rendered once, when something reads or writes them)."""
        return render(self.template)


def render(template: dict[str, Any]) -> str:
    """The one way a template becomes bytes: sorted keys, two-space indent, trailing newline."""
    return json.dumps(template, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def minified(template: dict[str, Any]) -> str:
    """The template as sent to CloudFormation: no whitespace, so it stays under the inline limit."""
    return json.dumps(template, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def region_context(environment: Environment, region: str, role: str) -> Context:
    """What the builders see of ``environment`` in ``region``, whose role is ``role``."""
    spec = environment.spec
    return Context(spec["system"], environment.name, region, role, tuple(sorted(spec["tags"].items())), spec)


def assemble(environment: Environment) -> list[Stack]:
    """Every stack of ``environment``, in every region it declares, in deploy order."""
    spec = environment.spec
    templates: dict[tuple[str, str], dict[str, Any]] = {}
    origins: dict[tuple[str, str], dict[str, tuple[Any, ...]]] = {}
    roles: dict[str, str] = {}
    after: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for region, role in environment.regions:
        ctx = region_context(environment, region, role)
        # The DR site's app layer: the same builders as the primary's, on the spec cut down to what stands by there.
        site = site_spec(spec) if role == "secondary" else None
        fragments: dict[str, list[Fragment]] = {}
        for section in sections.SECTIONS:
            built_for, built_in = spec, ctx
            if not section.applies(spec, region, role):
                if site is None or not section.site or not section.applies(site, region, "primary"):
                    continue
                built_for, built_in = site, replace(ctx, spec=site)
            assert section.stack is not None
            fragment = section.builds(built_for, built_in)
            if not (fragment.resources or fragment.outputs or fragment.parameters):
                continue  # a builder that decides, seeing the environment, to build nothing makes no stack
            # What a builder did not place more precisely comes from its section (derived ones: the spec itself).
            default = (section.name,) if section.name in spec else ()
            fragment.origins = [(title, at or default) for title, at in fragment.origins]
            fragments.setdefault(section.stack, []).append(fragment)
        for stack_name, parts in fragments.items():
            key = (region, stack_name)
            origins[key] = _origins(parts, environment)
            templates[key] = _template(stack_name, ctx, parts, spec.get("description"))
            after[key] = {needed for part in parts for needed in part.after}
            roles[region] = role
    problems = overrides.apply(templates, spec, {region: region for region in roles})
    if problems:
        raise SpecError([Diagnostic(message, _override_mark(environment, path), code="overrides") for path, message in problems])
    # A layer over a stack's quotas becomes numbered parts (split.py); the first keeps the layer's name.
    layers: dict[tuple[str, str], list[split.Part]] = {}
    cut: list[Diagnostic] = []
    for (region, name), template in templates.items():
        spec_origins = {
            **origins[(region, name)],
            **{i: ("overrides", i) for i in spec.get("overrides", {}) if i in template["Resources"]},
        }
        # Placed by the builder's origin (an override changes a resource, not which item it belongs to).
        placing = {**spec_origins, **origins[(region, name)]}
        found, problems = split.split(name, template, placing, f"{region}/{name}")
        cut += [Diagnostic(message, _key_mark(environment, path), code="assemble") for path, message in problems]
        for part in found:
            part.origins = {k: spec_origins.get(k, v) for k, v in part.origins.items()}
        layers[(region, name)] = found
    if cut:
        raise SpecError(cut)
    stacks = []
    for (region, name), found in layers.items():
        for part in found:
            stack = _stack(part.name, region, roles[region], part.template)
            # Only stacks this environment has: a builder names every layer it could need from another region.
            stack.after = sorted(
                [f"{r}/{p.name}" for r, n in after[(region, name)] if (r, n) in templates and r != region for p in layers[(r, n)]]
                + [f"{region}/{other}" for other in part.after]
            )
            stack.origins = part.origins
            stacks.append(stack)
    _order(stacks, environment)
    _check_limits(stacks, environment)
    return stacks


# CloudFormation's quotas per template.
MAX_RESOURCES, MAX_OUTPUTS, MAX_PARAMETERS = 500, 200, 200
INLINE_BYTES, S3_BYTES = 51_200, 1_048_576


def _busiest(origins: dict[str, tuple[Any, ...]], environment: Environment) -> Mark:
    """Where a whole stack's problem is best shown: the section that puts the most into it."""
    counts: dict[tuple[Any, ...], int] = {}
    for at in origins.values():
        counts[at[:1]] = counts.get(at[:1], 0) + 1
    top = max(sorted(counts), key=lambda at: counts[at], default=())
    return _key_mark(environment, top)


def _check_limits(stacks: list[Stack], environment: Environment) -> None:
    problems: list[tuple[Stack, str]] = []
    has_bucket = bool(environment.spec.get("deploy", {}).get("bucket"))
    for stack in stacks:
        counts = (
            ("resources", stack.resource_count, MAX_RESOURCES),
            ("outputs", len(stack.template.get("Outputs", {})), MAX_OUTPUTS),
            ("parameters", len(stack.parameters), MAX_PARAMETERS),
        )
        for what, count, limit in counts:
            if count > limit:
                problems.append(
                    (stack, f"stack {stack.key} has {count} {what}, over CloudFormation's {limit}; split the section across stacks")
                )
        size = len(stack.deploy_body.encode())
        if size > S3_BYTES:
            problems.append((stack, f"stack {stack.key} is {size} bytes, over CloudFormation's 1 MB template limit"))
        elif size > INLINE_BYTES and not has_bucket:
            problems.append(
                (
                    stack,
                    f"stack {stack.key} is {size} bytes, over the {INLINE_BYTES}-byte inline limit: set deploy.bucket "
                    "so ivc deploy can upload it",
                )
            )
    if problems:
        raise SpecError([Diagnostic(p, _busiest(stack.origins, environment), code="assemble") for stack, p in problems])


def _origins(parts: list[Fragment], environment: Environment) -> dict[str, tuple[Any, ...]]:
    """Logical ID -> spec path for one stack; two spec names that become one logical ID are an error at the second."""
    merged: dict[str, tuple[Any, ...]] = {}
    problems = []
    told: set[tuple[tuple[Any, ...], tuple[Any, ...]]] = set()  # one problem per pair of spec items, not per resource
    for part in parts:
        for title, at in part.origins:
            if title in merged and (at, merged[title]) not in told:
                told.add((at, merged[title]))
                kind = "output" if title.startswith("Outputs/") else "resource"
                problems.append(
                    Diagnostic(
                        f"{_dotted(at)} and {_dotted(merged[title])} would both make the {kind} {title.removeprefix('Outputs/')}; "
                        "rename one of them",
                        _key_mark(environment, at),
                        code="semantic",
                    )
                )
            else:
                merged[title] = at
    if problems:
        raise SpecError(problems)
    return merged


def _dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(step) for step in path) or "the spec"


def _key_mark(environment: Environment, path: tuple[Any, ...]) -> Mark:
    node = find(environment.tree, path)
    return node.key_mark or node.mark


def _override_mark(environment: Environment, path: tuple[Any, ...]) -> Mark:
    if path[-1] != overrides.KEY:
        return environment.mark(path)
    return _key_mark(environment, path[:-1])


def _template(name: str, ctx: Context, parts: list[Fragment], description: str | None) -> dict[str, Any]:
    template = Template()
    template.set_version("2010-09-09")
    summary = f"{ctx.system} {ctx.environment} {name} stack in {ctx.region} ({ctx.role} region)"
    template.set_description(f"{summary}: {description}" if description else summary)
    template.set_metadata(
        {
            "ivc": {
                "version": __version__,
                "system": ctx.system,
                "environment": ctx.environment,
                "stack": name,
                "region": ctx.region,
                "role": ctx.role,
            }
        }
    )
    # Past CloudFormation's quotas too (troposphere's add_* refuse): split.py cuts the layer into stacks that fit.
    for part in parts:
        for resource in part.resources:
            template._update(template.resources, resource)
        for output in part.outputs:
            template._update(template.outputs, output)
        for parameter in part.parameters:
            template._update(template.parameters, parameter)
    as_dict: dict[str, Any] = template.to_dict()
    return as_dict


def _stack(name: str, region: str, role: str, as_dict: dict[str, Any]) -> Stack:
    stack = Stack(name, region, role, as_dict)
    stack.exports = sorted(str(o["Export"]["Name"]) for o in as_dict.get("Outputs", {}).values() if "Export" in o)
    stack.imports = sorted(set(_imports(as_dict)))
    return stack


def _imports(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [str(value["Fn::ImportValue"])] if "Fn::ImportValue" in value else []
        return found + [name for child in value.values() for name in _imports(child)]
    if isinstance(value, list):
        return [name for child in value for name in _imports(child)]
    return []


def _order(stacks: list[Stack], environment: Environment) -> None:
    """Give each stack its wave: one more than the latest wave of any stack it imports from or must follow."""
    exporters = {(stack.region, name): stack for stack in stacks for name in stack.exports}
    problems = []
    for stack in stacks:
        for name in stack.imports:
            if (stack.region, name) not in exporters:
                importer = next((i for i, r in stack.template.get("Resources", {}).items() if name in _imports(r)), "")
                problems.append(
                    Diagnostic(
                        f"{importer or 'stack ' + stack.key} needs '{name}', which no stack of {environment.name} exports in "
                        f"{stack.region} (template {stack.file})",
                        _key_mark(environment, stack.origins.get(importer, ())),
                        code="assemble",
                    )
                )
    if problems:
        raise SpecError(problems)
    done: dict[str, int] = {}
    by_key = {stack.key: stack for stack in stacks}

    def wave(stack: Stack, seen: tuple[str, ...]) -> int:
        if stack.key in done:
            return done[stack.key]
        if stack.key in seen:
            raise SpecError(
                [
                    Diagnostic(
                        f"stacks import from each other in a cycle: {' -> '.join(seen + (stack.key,))}",
                        location=f"{environment.system}/{environment.name}",
                        code="assemble",
                    )
                ]
            )
        sources = [exporters[(stack.region, name)] for name in stack.imports] + [by_key[key] for key in stack.after]
        done[stack.key] = max((wave(s, seen + (stack.key,)) + 1 for s in sources), default=0)
        return done[stack.key]

    for stack in stacks:
        stack.wave = wave(stack, ())
    stacks.sort(key=lambda s: (s.wave, s.role != "primary", s.region, s.name))
