"""Split a layer's template that would pass CloudFormation's per-template quotas into numbered parts.

A layer (``data``, ``app``, ...) is one template per region until it holds more than a part may (``LIMITS``: under
CloudFormation's 500 resources, 200 outputs, 200 parameters and 1 MB body, with headroom). Then it becomes parts:
the first keeps the layer's name, the next are ``<layer>-2``, ``<layer>-3``, ... A layer within the limits is
returned untouched, so that splitting changes nothing for a spec that does not need it.

How resources are placed, so that a stateful resource does not move between stacks (a move is a deletion):

- Everything of one spec item (``databases.orders``: the origins' first two steps) stays together; items that
  reference each other within the layer form one unit.
- Shared hubs stay in the first part: what no single spec item made (the access-logs bucket) and items that
  ``HUB_REFERRERS`` or more other items reference, with everything they reference.
- Units fill parts greedily, in the spec's order: by the item's position within its section, then by section, so
  that a spec growing by whole items (a service with its database, bucket and queue) only adds to the last part.
  Sections that grow unevenly, an item that links two others or one that becomes shared can still move an item to
  another part: ``ivc compile`` warns of every resource that changes stack (pipeline.py, ``_moved``).

A reference from one part to a resource of another becomes an ``Fn::ImportValue`` of an export the owning part adds
(``<system>-<env>-<layer>-<LogicalId>-<Attribute>``, Attribute ``Ref`` for a Ref); a DependsOn across parts is
dropped, and its part follows the other part instead. Parameters, conditions and mappings a part uses are copied
into it; an output goes with the last-placed item it references, so that a part only ever imports from parts
placed before it (no cycle).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# What one part may hold: CloudFormation's quotas less headroom (a part grows by the exports later parts need).
LIMITS = {"resources": 400, "outputs": 180, "parameters": 180, "bytes": 900_000}
QUOTAS = {"resources": 500, "outputs": 200, "parameters": 200, "bytes": 1_048_576}  # CloudFormation's own
HUB_REFERRERS = 3  # an item that this many other items of the layer reference is shared: it stays in the first part
EXPORT_NAME_MAX = 255
IMPORT_BYTES = 120  # what an Fn::ImportValue costs a part's body, about
SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")

Path = tuple[Any, ...]


@dataclass
class Part:
    """One stack of a split layer: its name, template and where its resources and outputs came from in the spec."""

    name: str
    template: dict[str, Any]
    origins: dict[str, Path]
    after: list[str] = field(default_factory=list)  # parts of the layer it follows for a DependsOn it lost


@dataclass
class _Unit:
    """Spec items placed together, with what they cost a part."""

    key: tuple[int, int]
    items: list[Path]
    resources: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    parameters: set[str] = field(default_factory=set)
    needs: set[tuple[str, str]] = field(default_factory=set)  # (logical ID, attribute or "Ref") of other units
    size: int = 0


def layer_of(name: str) -> str:
    """The layer a stack belongs to: ``data`` for ``data``, ``data-2``, ..."""
    return re.sub(r"-\d+$", "", name)


def part_name(layer: str, number: int) -> str:
    return layer if number == 1 else f"{layer}-{number}"


def fits(template: dict[str, Any]) -> bool:
    """Whether a template stays one stack."""
    return (
        len(template.get("Resources", {})) <= LIMITS["resources"]
        and len(template.get("Outputs", {})) <= LIMITS["outputs"]
        and len(template.get("Parameters", {})) <= LIMITS["parameters"]
        and len(_bytes(template)) <= LIMITS["bytes"]
    )


def split(layer: str, template: dict[str, Any], origins: dict[str, Path], key: str = "") -> tuple[list[Part], list[tuple[Path, str]]]:
    """``template`` of ``layer`` as parts within ``LIMITS``, and problems (spec path, message) when it cannot be.

    ``origins`` maps logical IDs (and ``Outputs/<name>``) to spec paths; every part's origins are its share of them.
    ``key`` is how messages name the stack (``us-east-1/data``).
    """
    if fits(template):
        return [Part(layer, template, origins)], []
    resources: dict[str, Any] = template.get("Resources", {})
    outputs: dict[str, Any] = template.get("Outputs", {})
    parameters = set(template.get("Parameters", {}))
    item = {logical: _item(origins.get(logical, ())) for logical in resources}
    refs = {logical: _refs(body, resources) | _depends(body, resources) for logical, body in resources.items()}

    # Shared hubs: no single item's, or referenced by many items; with everything they reference.
    referrers: dict[Path, set[Path]] = {}
    for logical, targets in refs.items():
        for target in targets:
            if item[target] != item[logical]:
                referrers.setdefault(item[target], set()).add(item[logical])
    hub_items = {i for i in set(item.values()) if len(i) < 2 or len(referrers.get(i, ())) >= HUB_REFERRERS}
    grown = True
    while grown:
        reached = {item[t] for logical in resources if item[logical] in hub_items for t in refs[logical]}
        grown = not reached <= hub_items
        hub_items |= reached

    # Units: items that reference each other, ordered by position within their section, then section.
    parent: dict[Path, Path] = {}

    def root(i: Path) -> Path:
        while parent.setdefault(i, i) != i:
            i = parent[i]
        return i

    for logical, targets in refs.items():
        for target in targets:
            if item[logical] not in hub_items and item[target] not in hub_items:
                parent[root(item[logical])] = root(item[target])
    sections: dict[Any, int] = {}
    seen: dict[Any, int] = {}  # items of each section so far
    position: dict[Path, tuple[int, int]] = {}
    for logical in resources:
        i = item[logical]
        if len(i) == 2 and i not in position:
            position[i] = (seen.get(i[0], 0), sections.setdefault(i[0], len(sections)))
            seen[i[0]] = seen.get(i[0], 0) + 1
    units: dict[Path, _Unit] = {}
    hub = _Unit((-1, -1), [])
    owner: dict[str, _Unit] = {}
    for logical in resources:
        i = item[logical]
        unit = hub if i in hub_items else units.setdefault(root(i), _Unit(position[i], []))
        if unit is not hub:
            unit.key = min(unit.key, position[i])
        if i not in unit.items:
            unit.items.append(i)
        unit.resources.append(logical)
        owner[logical] = unit
    for name, body in outputs.items():
        # With the last-placed unit it references (units fill parts in key order): it imports only from earlier parts.
        unit = max((owner[r] for r in _ordered_refs(body, resources)), key=lambda u: u.key, default=hub)
        unit.outputs.append(name)
    for unit in [hub, *units.values()]:
        bodies = [resources[r] for r in unit.resources] + [outputs[o] for o in unit.outputs]
        unit.parameters = {p for body in bodies for p in _names(body, "Ref") if p in parameters}
        unit.needs = {
            (target, attribute) for body in bodies for target, attribute in _targets(body, resources) if owner[target] is not unit
        }
        unit.size = sum(len(_bytes(body)) for body in bodies) + IMPORT_BYTES * len(unit.needs)

    problems: list[tuple[Path, str]] = []
    placed: list[list[_Unit]] = [[hub]]
    where: dict[int, int] = {id(hub): 0}
    for unit in [hub, *sorted(units.values(), key=lambda u: u.key)]:
        over = _over(unit)
        if over:
            problems.append((_busiest(unit, item), _too_big(key or layer, template, unit, over, item)))
            continue
        if unit is hub:
            continue
        # A unit over the headroom but within the quotas has a part to itself.
        if not _room(placed[-1] + [unit], 0, LIMITS):
            placed.append([])
        placed[-1].append(unit)
        where[id(unit)] = len(placed) - 1
    if problems:
        return [], problems
    meta = template.get("Metadata", {}).get("ivc", {})
    prefix = f"{meta.get('system', '')}-{meta.get('environment', '')}-{layer}"
    # A value a builder's output already exports is imported by that name (the output is in the resource's part).
    known = {
        _targets(body["Value"], resources)[0]: str(body["Export"]["Name"])
        for body in outputs.values()
        if isinstance(body.get("Export", {}).get("Name"), str) and _direct(body.get("Value"), resources)
    }
    names = {need: known.get(need) or _export(prefix, *need) for unit in [hub, *units.values()] for need in unit.needs}
    exports: list[set[tuple[str, str]]] = [set() for _ in placed]  # per part: what other parts import from it
    for unit in [hub, *units.values()]:
        for target, attribute in unit.needs:
            if (target, attribute) in known:
                continue
            if id(unit) in where and where[id(owner[target])] != where[id(unit)]:
                exports[where[id(owner[target])]].add((target, attribute))
    for number, holds in enumerate(exports):
        if not _room(placed[number], len(holds), QUOTAS):
            problems.append(
                (
                    _busiest(placed[number][0], item),
                    f"stack {part_name(key or layer, number + 1)} would export {len(holds)} values to the other parts of "
                    f"its layer, over CloudFormation's {QUOTAS['outputs']} outputs with its own: fewer items should share them",
                )
            )
    if problems:
        return [], problems

    part_of = {logical: where[id(owner[logical])] for logical in resources}
    for holds in exports:
        for target, attribute in holds:
            name = names[(target, attribute)]
            if len(name) > EXPORT_NAME_MAX:
                problems.append(
                    (
                        origins.get(target, ()),
                        f"{target} is used across the parts of stack {layer}, and the export {name[:60]}... would be "
                        f"{len(name)} characters, over CloudFormation's {EXPORT_NAME_MAX}: shorten the names",
                    )
                )
    if problems:
        return [], problems
    parts = []
    for number, units_here in enumerate(placed):
        name = part_name(layer, number + 1)
        parts.append(_part(layer, name, number, template, units_here, exports[number], part_of, names, origins))
    return parts, []


def _part(
    layer: str,
    name: str,
    number: int,
    template: dict[str, Any],
    holds: list[_Unit],
    exports: set[tuple[str, str]],
    part_of: dict[str, int],
    names: dict[tuple[str, str], str],
    origins: dict[str, Path],
) -> Part:
    resources: dict[str, Any] = template.get("Resources", {})
    mine = {logical for unit in holds for logical in unit.resources}
    own_outputs = {o for unit in holds for o in unit.outputs}

    def local(value: Any) -> Any:
        return _rewrite(value, lambda target: part_of.get(target, number) != number, resources, names)

    body: dict[str, Any] = {}
    for key, value in template.items():
        if key == "Resources":
            body[key] = {logical: _resource(logical, value[logical], local, mine) for logical in value if logical in mine}
        elif key == "Outputs":
            continue  # below: this part's outputs and the exports other parts import
        elif key in ("Parameters", "Conditions", "Mappings"):
            continue  # copied below, as far as this part uses them
        elif key == "Metadata":
            ivc = {**value.get("ivc", {}), "stack": name}
            if "overrides" in ivc:  # the overrides applied to this part's resources
                ivc["overrides"] = {i: reason for i, reason in ivc["overrides"].items() if i in mine}
                if not ivc["overrides"]:
                    del ivc["overrides"]
            body[key] = {**value, "ivc": ivc}
        elif key == "Description" and number and isinstance(value, str):
            body[key] = value.replace(f" {layer} stack in ", f" {name} stack in ", 1)
        else:
            body[key] = value
    kept = {o: local(body) for o, body in template.get("Outputs", {}).items() if o in own_outputs}
    for target, attribute in sorted(exports):
        kept[_output(target, attribute)] = {
            "Description": f"{target}'s {attribute} for another part of the {layer} stack",
            "Export": {"Name": names[(target, attribute)]},
            "Value": {"Ref": target} if attribute == "Ref" else {"Fn::GetAtt": [target, attribute]},
        }
    if kept:
        body["Outputs"] = kept
    content = [body.get("Resources", {}), body.get("Outputs", {})]
    conditions = template.get("Conditions", {})
    used_conditions = _conditions(content, conditions)
    if used_conditions:
        body["Conditions"] = {c: conditions[c] for c in conditions if c in used_conditions}
    parameters = template.get("Parameters", {})
    used = {p for value in [*content, body.get("Conditions", {})] for p in _names(value, "Ref")}
    if any(p in used for p in parameters):
        body["Parameters"] = {p: parameters[p] for p in parameters if p in used}
    mappings = template.get("Mappings", {})
    maps = {m for value in [*content, body.get("Conditions", {})] for m in _names(value, "Fn::FindInMap")}
    if any(m in maps for m in mappings):
        body["Mappings"] = {m: mappings[m] for m in mappings if m in maps}
    part_origins = {k: v for k, v in origins.items() if k in mine or (k.startswith("Outputs/") and k[8:] in own_outputs)}
    for target, attribute in sorted(exports):
        part_origins[f"Outputs/{_output(target, attribute)}"] = origins.get(target, ())
    # A DependsOn on another part's resource is dropped from the template; the part follows that part instead.
    follows = {part_of[d] for logical in mine for d in _depends(resources[logical], resources) if part_of[d] != number}
    return Part(name, body, part_origins, [part_name(layer, index + 1) for index in sorted(follows)])


def _resource(logical: str, body: dict[str, Any], local: Any, mine: set[str]) -> dict[str, Any]:
    rewritten: dict[str, Any] = local(body)
    depends = body.get("DependsOn")
    if depends is not None:
        kept = [d for d in ([depends] if isinstance(depends, str) else depends) if d in mine]
        if kept:
            rewritten["DependsOn"] = depends if isinstance(depends, str) else kept
        else:
            del rewritten["DependsOn"]
    return rewritten


def _export(prefix: str, target: str, attribute: str) -> str:
    return f"{prefix}-{target}-{attribute.replace('.', '-')}"


def _output(target: str, attribute: str) -> str:
    return f"Split{target}{attribute.replace('.', '')}"


def _rewrite(value: Any, elsewhere: Any, resources: dict[str, Any], names: dict[tuple[str, str], str]) -> Any:
    """``value`` with references to resources ``elsewhere`` (another part's) made imports of their exports."""
    if isinstance(value, list):
        return [_rewrite(v, elsewhere, resources, names) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" and isinstance(arg, str) and arg in resources and elsewhere(arg):
            return {"Fn::ImportValue": names[(arg, "Ref")]}
        if key == "Fn::GetAtt":
            target, attribute = _getatt(arg)
            if target in resources and elsewhere(target):
                return {"Fn::ImportValue": names[(target, attribute)]}
        if key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], dict(arg[1]) if len(arg) > 1 else {})
            if isinstance(text, str):
                changed = False

                def swap(match: re.Match[str]) -> str:
                    nonlocal changed
                    name = match.group(1)
                    target, _, attribute = name.partition(".")
                    if name in variables or target not in resources or not elsewhere(target):
                        return match.group(0)
                    changed = True
                    variable = _output(target, attribute or "Ref")
                    variables[variable] = {"Fn::ImportValue": names[(target, attribute or "Ref")]}
                    return "${" + variable + "}"

                text = SUB_VARIABLE.sub(swap, text)
                if changed or not isinstance(arg, str):
                    variables = {k: _rewrite(v, elsewhere, resources, names) for k, v in variables.items()}
                    return {"Fn::Sub": [text, variables]} if variables else {"Fn::Sub": text}
                return value
    return {k: _rewrite(v, elsewhere, resources, names) for k, v in value.items()}


def _direct(value: Any, resources: dict[str, Any]) -> bool:
    """Whether ``value`` is exactly a Ref or Fn::GetAtt of a resource (so its export can stand for it)."""
    return isinstance(value, dict) and len(value) == 1 and ("Ref" in value or "Fn::GetAtt" in value) and bool(_targets(value, resources))


def _getatt(arg: Any) -> tuple[str, str]:
    if isinstance(arg, str):
        target, _, attribute = arg.partition(".")
        return target, attribute
    if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], str):
        return arg[0], arg[1]
    return "", ""


def _targets(value: Any, resources: dict[str, Any]) -> list[tuple[str, str]]:
    """(logical ID, attribute or "Ref") of every resource ``value`` references, in order."""
    found: list[tuple[str, str]] = []
    if isinstance(value, list):
        for v in value:
            found += _targets(v, resources)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                if arg in resources:
                    found.append((arg, "Ref"))
            elif key == "Fn::GetAtt":
                target, attribute = _getatt(arg)
                if target in resources:
                    found.append((target, attribute))
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0] if isinstance(arg, list) and arg else ""
                variables = arg[1] if isinstance(arg, list) and len(arg) > 1 and isinstance(arg[1], dict) else {}
                if isinstance(text, str):
                    for name in SUB_VARIABLE.findall(text):
                        target, _, attribute = name.partition(".")
                        if name not in variables and target in resources:
                            found.append((target, attribute or "Ref"))
                found += _targets(variables, resources)
            else:
                found += _targets(arg, resources)
    return found


def _refs(value: Any, resources: dict[str, Any]) -> set[str]:
    return {target for target, _ in _targets(value, resources)}


def _ordered_refs(value: Any, resources: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(target for target, _ in _targets(value, resources)))


def _depends(body: Any, resources: dict[str, Any]) -> set[str]:
    depends = body.get("DependsOn", []) if isinstance(body, dict) else []
    return {d for d in ([depends] if isinstance(depends, str) else depends) if d in resources}


def _names(value: Any, function: str) -> set[str]:
    """The first argument of every ``function`` (Ref: its name; Fn::FindInMap: the map) inside ``value``."""
    found: set[str] = set()
    if isinstance(value, list):
        for v in value:
            found |= _names(v, function)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == function:
                first = arg if isinstance(arg, str) else arg[0] if isinstance(arg, list) and arg else None
                if isinstance(first, str):
                    found.add(first)
            if key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0] if isinstance(arg, list) and arg else ""
                if function == "Ref" and isinstance(text, str):
                    found |= {n for n in SUB_VARIABLE.findall(text) if "." not in n}
            found |= _names(arg, function)
    return found


def _conditions(content: list[Any], conditions: dict[str, Any]) -> set[str]:
    """The conditions ``content`` uses, with the conditions they use in turn."""

    def direct(value: Any) -> set[str]:
        found: set[str] = set()
        if isinstance(value, list):
            for v in value:
                found |= direct(v)
        elif isinstance(value, dict):
            for key, arg in value.items():
                if key == "Condition" and isinstance(arg, str) and arg in conditions:
                    found.add(arg)
                elif key == "Fn::If" and isinstance(arg, list) and arg and isinstance(arg[0], str):
                    found.add(arg[0])
                found |= direct(arg)
        return found

    used = direct(content)
    while True:
        more = {c for name in used for c in direct(conditions.get(name))} - used
        if not more:
            return used
        used |= more


def _room(units: list[_Unit], exports: int, limits: dict[str, int]) -> bool:
    """Whether ``units`` fit one part within ``limits``, with ``exports`` more outputs for other parts."""
    parameters: set[str] = set()
    for unit in units:
        parameters |= unit.parameters
    return (
        sum(len(u.resources) for u in units) <= limits["resources"]
        and sum(len(u.outputs) for u in units) + exports <= limits["outputs"]
        and len(parameters) <= limits["parameters"]
        and sum(u.size for u in units) + 300 * exports <= limits["bytes"]
    )


def _over(unit: _Unit) -> tuple[str, int] | None:
    """The first of CloudFormation's quotas ``unit`` passes alone, and by how much it takes."""
    for what, count in (
        ("resources", len(unit.resources)),
        ("outputs", len(unit.outputs)),
        ("parameters", len(unit.parameters)),
        ("bytes", unit.size),
    ):
        if count > QUOTAS[what]:
            return what, count
    return None


def _too_big(key: str, template: dict[str, Any], unit: _Unit, over: tuple[str, int], item: dict[str, Path]) -> str:
    what, count = over
    total = {
        "resources": len(template.get("Resources", {})),
        "outputs": len(template.get("Outputs", {})),
        "parameters": len(template.get("Parameters", {})),
        "bytes": len(_bytes(template)),
    }[what]
    items = sorted({item[r] for r in unit.resources}, key=lambda i: [str(s) for s in i])
    named = ", ".join(".".join(str(s) for s in i) or "what the stack's items share" for i in items[:3])
    if len(items) > 3:
        named += f" and {len(items) - 3} more"
    return (
        f"stack {key} has {total} {what}, over CloudFormation's {QUOTAS[what]}, and {named} alone "
        f"{'make' if len(items) > 1 else 'makes'} {count} of them: what one spec item makes (with what it references in "
        "the same stack) stays in one stack, so make it smaller or split it into more items"
    )


def _busiest(unit: _Unit, item: dict[str, Path]) -> Path:
    """Where a problem of ``unit`` is shown: the item that makes most of its resources."""
    counts: dict[Path, int] = {}
    for logical in unit.resources:
        counts[item[logical]] = counts.get(item[logical], 0) + 1
    return max(sorted(counts, key=lambda i: [str(s) for s in i]), key=lambda i: (bool(i), counts[i]), default=())


def _item(origin: Path) -> Path:
    """The spec item a resource belongs to: the first two steps of its origin (fewer when no single item made it)."""
    return tuple(origin[:2])


def _bytes(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
