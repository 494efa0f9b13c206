"""Faster cfn-lint with the same findings: the waste a profile of our templates showed, removed.

Sampled with py-spy over every Social Flow template (30 templates, 562 resources, rules built once), most of
cfn-lint's time was not validation but bookkeeping around it:

- ``cfnlint.jsonschema.validators.create`` builds a new ``@dataclass`` class, through ``exec``, each time a
  rule extends a validator (about 1,800 classes for 14 distinct ones): 15% of the time. Here classes are
  memoised by what they are made of (keyword functions, function filter settings, function resolvers).
- ``evolve`` of validators, contexts and paths (hundreds of thousands of calls) went through ``fields()`` and
  a frozen dataclass ``__init__``: about 15%. Here the new object gets the same field values directly, and a
  context keeps the ``module_names`` its resources gave (a fresh context searched them again, 2%).
- The ``cfnLint`` keyword (rule E1101) compared every keyword with every child rule's keywords (about 300
  string comparisons per call): 18% once the above was gone. Here it looks them up in an index.
- E3062 (RDS instance class against engine and version) evaluates 980 ``if`` branches, 70 per engine, for
  every DB instance. A branch applies only when ``Engine`` equals its ``const``; for a literal engine only
  those branches are evaluated.
- A ``$ref`` is resolved by a ``RefResolver``, and rules make a new one for each function they validate (with
  an empty cache): each first searched the whole schema, breadth first, for ``$id`` subschemas, and again for
  ``id``/``$id`` matching the fragment, 12% of the time. Schemas do not change once loaded (the ``cfnLint``
  lists cfn-lint appends to are not searched), so what a search finds in a schema is remembered per schema
  object, which stays referenced while remembered.
- ``Rules.run`` starts every template by wiring child rules to parents, finding each child among the rules with
  ``any(key == r for r in self.data.keys())`` (about 100,000 comparisons a template), and by reading the
  same five configuration values (each merged anew from command line, file and template) once per rule. Here
  a dict lookup finds the child, and the values are read once per template. It then calls every rule's
  ``matchall_resource_properties`` for every resource (90,000 calls for Social Flow), though for most rules
  the method returns at once unless the resource's type is one of theirs: those calls are not made.
- cfn-lint calls the ``regex`` module's functions with patterns (``regex.match(pattern, s)``), about 25,000
  times for Social Flow; each finds its compiled pattern through ``regex``'s general cache (an import
  statement, the locale, named lists, sets), 5% of the time. A pattern that depends on neither locale nor
  named lists, with no flags, compiles to the same pattern every time: it is kept by its text. A pattern that
  is compiled already is what regex returns for it (after the same lookups).
- ``Template.search_deep_keys(key)`` walks the whole template for one key; a template's construction searches
  seven keys (``Ref``, ``Fn::Sub``, ``Fn::If``, ... and again for its graph) and W2501 nine password
  properties: most of the 8% the walks took. While nothing writes to the template, one walk indexes every
  key, in the order the walks find them, and each search gets fresh lists from it. That is during
  construction until ``create_context_for_template`` (which sorts ``Fn::Equals`` arguments in place; every
  search comes before it), and during W2501's ``match``, which only reads.
- ``BaseJsonSchema.extend_validator`` (every resource, every JSON-schema rule) made its validator with the
  class's defaults, an empty ``Template`` among them (a graph, conditions, a context: 50 us), then replaced
  those with an ``evolve``. Here the validator is made with the template, context and resolver it is given.
- Rules W3037 (IAM actions) and I3510 (statement resources) each parse the 2 MB ``Policies.json`` when the
  rules are built: 36 ms each, before the first template can be linted. Both only read it: they share one parse.
- W3011 (DeletionPolicy and UpdateReplacePolicy both or neither) and E3016 (UpdatePolicy) validate every
  resource against schemas that constrain only those keys. A resource with none of them cannot fail either
  schema, so they are not run for it.

One change is to the import, not the lint, and only in a process that does nothing but lint (compiler/lint.py's
prepared process and its workers): cfn-lint takes seven names from ``sympy`` (Boolean logic for template
conditions), and ``import sympy`` runs sympy's ``__init__``, which imports all of sympy (about 420 modules,
0.27 s, a third of the time before the first template can be linted). There ``sympy`` is first a package whose
seven names come from the modules that define them (``sympy.core``, ``sympy.logic``: 65 modules, 0.07 s).
Anything else asked of it, and any module of it imported once cfn-lint is, first runs sympy's ``__init__`` in
that package, so code that wants more of sympy gets sympy as ``import sympy`` makes it (each module run once).
It is done only for ``CHECKED_SYMPY``, the version this was checked against (setup.cfg pins it). Elsewhere (a
test run, a library user, threads) sympy is imported as usual.

Each change computes exactly what the code it replaces computes; tests/test_lint.py compares every finding
with unpatched ``cfnlint.api.lint`` (run in a clean process) on a corpus of broken templates that trip each
changed path, and ``bench/lint_equivalence.py`` does it over every bundled output. They were checked against
cfn-lint ``CHECKED_VERSION`` only: with another version nothing is changed (lint stays correct, only slower),
and a test fails so that the next upgrade re-checks them.
"""

from __future__ import annotations

import dataclasses
import importlib.abc
import types
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

CHECKED_VERSION = "1.58.0"
CHECKED_SYMPY = "1.14.0"
# What cfn-lint (CHECKED_VERSION) imports from the top of ``sympy``, and the module that defines each.
SYMPY_NAMES = {
    "And": "sympy.logic.boolalg",
    "Or": "sympy.logic.boolalg",
    "Not": "sympy.logic.boolalg",
    "Implies": "sympy.logic.boolalg",
    "Equivalent": "sympy.logic.boolalg",
    "Symbol": "sympy.core.symbol",
    "Dummy": "sympy.core.symbol",
}

_installed = False


def applicable() -> bool:
    """Whether the installed cfn-lint is the version these changes were checked against."""
    return installed_version("cfnlint", "version.py") == CHECKED_VERSION


def installed_version(package: str, module: str) -> str | None:
    """``__version__`` as ``package``'s ``module`` assigns it, read without importing either.

    Before cfn-lint is imported, and in less time than importing ``importlib.metadata`` takes (30 ms) on the way
    to the first linted template. None if the package or the assignment is not found.
    """
    import importlib.util
    import re
    from pathlib import Path

    spec = importlib.util.find_spec(package)  # finds a top-level package without running it
    if spec is None or not spec.submodule_search_locations:
        return None
    try:
        source = (Path(next(iter(spec.submodule_search_locations))) / module).read_text(encoding="utf-8")
    except OSError:
        return None
    found = re.search(r'^__version__ = "([^"]+)"$', source, re.MULTILINE)
    return found.group(1) if found else None


def install(dedicated: bool = False) -> bool:
    """Change cfn-lint's modules for this process (once), before it is imported; False when its version was not checked.

    ``dedicated``: this process only lints (compiler/lint.py's prepared process and its workers), so sympy may be
    imported light (``_light_sympy``). Not in a process that may use sympy otherwise, or from several threads.
    """
    global _installed
    if _installed:
        return True
    if not applicable():
        return False
    if dedicated:
        _light_sympy()
    _memoise_validator_classes()
    _policies_read_once()
    _schema_lookups_remembered()
    _compiled_patterns_remembered()
    _key_searches_in_one_walk()
    _validators_extended_directly()
    _direct_context_evolve()
    _direct_path_evolve()
    _installed = True
    return True


def tune(rules: Any) -> None:
    """Change rule instances of one ``Rules`` collection (cfn-lint loads rule classes per collection)."""
    if not install():
        return
    _run_with_lookups(rules)
    by_id = {getattr(rule, "id", None): rule for rule in rules.values()}
    if "E1101" in by_id:
        _index_cfn_lint_keyword(by_id["E1101"])
    if "E3062" in by_id:
        _branches_of_the_engine(by_id["E3062"])
    if "W2501" in by_id:
        _searches_in_one_walk_during_match(by_id["W2501"])
    for rule_id, keys in (("W3011", {"DeletionPolicy", "UpdateReplacePolicy"}), ("E3016", {"UpdatePolicy"})):
        if rule_id in by_id:
            _only_resources_with(by_id[rule_id], frozenset(keys))


def _light_sympy() -> None:
    """``sympy`` as a package that imports only what cfn-lint's import asks of it, until more is asked (see the docstring)."""
    import importlib.util
    import sys

    if "sympy" in sys.modules or "cfnlint" in sys.modules or installed_version("sympy", "release.py") != CHECKED_SYMPY:
        return
    spec = importlib.util.find_spec("sympy")
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return
    light = _LightSympy(spec)
    sys.modules["sympy"] = light.package
    sys.meta_path.insert(0, light)
    try:
        # what imports sympy (with cfnlint itself)
        import cfnlint.conditions
        import cfnlint.context.conditions  # noqa: F401
    finally:
        # From here on, sympy runs: any module of it not imported yet (sympy imports many inside its functions,
        # expecting them in its __init__'s order) is imported only after sympy's __init__ has run.
        light.sealed = True


class _LightSympy:
    """sympy's package with its ``__init__`` deferred, and the import hook that runs it when more is needed."""

    def __init__(self, spec: Any) -> None:
        import importlib.util

        self.package = importlib.util.module_from_spec(spec)  # the package, its __init__ not run
        self.loader = spec.loader
        self.sealed = False
        self.complete = False
        self.package.__getattr__ = self.attribute  # type: ignore[method-assign]

    def attribute(self, name: str) -> Any:
        """A name asked of ``sympy``: one of cfn-lint's from its module, anything else from sympy as it is."""
        import importlib

        if name in SYMPY_NAMES and not self.complete:
            importlib.import_module("sympy.core")  # first, as sympy's __init__ does: sympy.logic and it import each other
            value = getattr(importlib.import_module(SYMPY_NAMES[name]), name)
            setattr(self.package, name, value)
            return value
        self.finish()
        return getattr(self.package, name)

    def finish(self) -> None:
        """Run sympy's ``__init__`` in the package: from now on it is sympy as ``import sympy`` makes it."""
        import contextlib
        import sys

        if self.complete:
            return
        self.complete = True
        self.package.__dict__.pop("__getattr__", None)
        with contextlib.suppress(ValueError):  # someone else took it off sys.meta_path
            sys.meta_path.remove(self)
        try:
            self.loader.exec_module(self.package)
        except BaseException:
            sys.modules.pop("sympy", None)  # as a failed ``import sympy`` leaves it: the next import tries again
            raise

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        """Before a module of sympy is imported once sealed, run sympy's ``__init__``; if that imported it, it is that one."""
        import importlib.util
        import sys

        if not self.sealed or not fullname.startswith("sympy.") or fullname in sys.modules:  # (a reload: as usual)
            return None
        self.finish()
        module = sys.modules.get(fullname)
        if module is None:
            return None  # not imported by sympy's __init__: found and run as usual
        # The import system prefers the spec of a module that is in sys.modules by now, and would run it again from
        # that spec: it gets this one, whose loader hands over the module as it is (and puts its own spec back).
        spec = importlib.util.spec_from_loader(fullname, _Imported(module))
        module.__spec__ = spec
        return spec


class _Imported(importlib.abc.Loader):
    """The loader of a module that is imported already: the import system gets that module, unchanged."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.spec = module.__spec__

    def create_module(self, spec: Any) -> Any:
        return self.module

    def exec_module(self, module: Any) -> None:
        module.__spec__ = self.spec  # the import system set its own spec on it: put back the module's


def _validators_extended_directly() -> None:
    """``extend_validator`` without the empty Template its first validator made and ``evolve`` threw away."""
    from cfnlint.rules.jsonschema.Base import BaseJsonSchema
    from cfnlint.schema.resolver import RefResolver

    def extend_validator(self: Any, validator: Any, schema: Any, context: Any, validators: Any = None) -> Any:
        all_validators = self._get_validators()
        if validators:
            all_validators.update(validators)
        return validator.extend(validators=all_validators)(
            schema=schema, cfn=validator.cfn, context=context, resolver=RefResolver.from_schema(schema)
        )

    BaseJsonSchema.extend_validator = extend_validator


def _policies_read_once() -> None:
    """``load_resource`` parses ``Policies.json`` once; the two rules that load it only read it."""
    import cfnlint.helpers as helpers_module
    from cfnlint.data import AdditionalSpecs

    original = helpers_module.load_resource
    parsed: dict[str, Any] = {}

    def load_resource(package: Any, filename: str = "us-east-1.json") -> Any:
        if package is not AdditionalSpecs or filename != "Policies.json":
            return original(package, filename)
        if filename not in parsed:
            parsed[filename] = original(package, filename)
        return parsed[filename]

    helpers_module.load_resource = load_resource


def _kept(table: dict[Any, Any], key: Any, make: Callable[[], Any], limit: int = 4096) -> Any:
    """``table[key]``, made by ``make()`` the first time; a full table starts again (what is kept is only reused)."""
    found = table.get(key)
    if found is None:
        if len(table) >= limit:
            table.clear()
        found = table[key] = make()  # raises: nothing kept
    return found


def _schema_lookups_remembered() -> None:
    """``RefResolver``'s searches of a schema, remembered across resolvers: the same schema object, the same answer."""
    from cfnlint.schema.resolver._resolver import RefResolver

    search_subschemas = RefResolver._get_subschemas_cache
    resolve_fragment = RefResolver.resolve_fragment
    # (id of the schema, ...) -> (the schema, what was found): holding the schema keeps its id from being reused
    subschemas: dict[int, tuple[Any, Any]] = {}
    fragments: dict[tuple[int, str], tuple[Any, Any]] = {}

    def get_subschemas_cache(self: Any) -> Any:
        if self._subschemas_cache is None:
            referrer = self.referrer
            self._subschemas_cache = _kept(subschemas, id(referrer), lambda: (referrer, search_subschemas(self)))[1]
        return self._subschemas_cache

    def fragment_of(self: Any, document: Any, fragment: str) -> Any:
        return _kept(fragments, (id(document), fragment), lambda: (document, resolve_fragment(self, document, fragment)))[1]

    RefResolver._get_subschemas_cache = get_subschemas_cache
    RefResolver.resolve_fragment = fragment_of


def _run_with_lookups(rules: Any) -> None:
    """``Rules.run`` of CHECKED_VERSION, the same steps with a dict lookup and configuration read once per template."""
    from cfnlint.rules._rule import CloudFormationLintRule

    default_matchall = CloudFormationLintRule.matchall_resource_properties

    def run(self: Any, filename: Any, cfn: Any, config: Any) -> Iterator[Any]:
        configure_rules = config.configure_rules
        include_experimental = config.include_experimental
        ignore_checks, include_checks, mandatory_checks = config.ignore_checks, config.include_checks, config.mandatory_checks
        enabled_rule_ids = set()
        for rule_id, rule in self.data.items():
            rule.configure(configure_rules.get(rule_id, None), include_experimental)
            rule.initialize(cfn)
            # Rules.is_rule_enabled for a rule that is in self.data
            if rule.is_enabled(
                include_experimental=include_experimental,
                ignore_rules=ignore_checks,
                include_rules=include_checks,
                mandatory_rules=mandatory_checks,
            ):
                enabled_rule_ids.add(rule_id)

        for rule_id, rule in self.data.items():
            for key in rule.child_rules:
                if key not in self.data:
                    continue
                rule.child_rules[key] = self.data.get(key)
            for parent_rule in rule.parent_rules:
                if parent_rule in self.data:
                    self.data[parent_rule].child_rules[rule_id] = rule

        for rule_id, rule in self.data.items():
            yield from self._filter_matches(
                enabled_rule_ids,
                self.run_check(rule.matchall, filename, rule_id, config, enabled_rule_ids, filename, cfn),
            )

        # Rules whose matchall_resource_properties is the decorated default: it returns at once for a resource
        # type not in their resource_property_types (most rules, for most types), so it is not called for one.
        standard = {
            rule_id
            for rule_id, rule in self.data.items()
            if type(rule).matchall_resource_properties is default_matchall and "matchall_resource_properties" not in rule.__dict__
        }
        for resource_name, resource_attributes in cfn.get_resources().items():
            resource_type = resource_attributes.get("Type")
            resource_properties = resource_attributes.get("Properties")
            if isinstance(resource_type, str) and isinstance(resource_properties, dict):
                path = ["Resources", resource_name, "Properties"]
                for rule_id, rule in self.data.items():
                    # (a rule without resource_property_types is called: it fails in run_check, as before)
                    if rule_id in standard and resource_type not in getattr(rule, "resource_property_types", (resource_type,)):
                        if rule_id in enabled_rule_ids:  # what run_check records before it calls the method
                            self._used_rules[rule_id] = rule
                        continue
                    yield from self._filter_matches(
                        enabled_rule_ids,
                        self.run_check(
                            rule.matchall_resource_properties,
                            filename,
                            rule_id,
                            config,
                            enabled_rule_ids,
                            filename,
                            cfn,
                            resource_properties,
                            resource_type,
                            path,
                        ),
                    )

    rules.run = types.MethodType(run, rules)


def _compiled_patterns_remembered() -> None:
    """``regex``'s ``_compile``, with the patterns that cannot compile differently kept by their text."""
    import regex
    import regex._main as regex_main

    original = regex_main._compile
    kept: dict[tuple[str, Any], Any] = {}

    def _compile(pattern: Any, flags: Any, ignore_unused: Any, kwargs: Any, cache_it: Any) -> Any:
        if type(pattern) is regex.Pattern and not flags and not kwargs:
            return pattern  # what regex returns for a compiled pattern, after looking it up in vain
        if flags or kwargs or not cache_it or type(pattern) is not str:
            return original(pattern, flags, ignore_unused, kwargs, cache_it)
        key = (pattern, regex.DEFAULT_VERSION)
        compiled = kept.get(key)
        if compiled is None:
            compiled = original(pattern, flags, ignore_unused, kwargs, cache_it)
            # what regex itself knows once it has compiled it: not locale-sensitive, no named lists
            if regex_main._locale_sensitive.get((str, pattern), True) is False and not regex_main._named_args.get((pattern, str, 0)):
                if len(kept) >= 4096:
                    kept.clear()
                kept[key] = compiled
        return compiled

    regex_main._compile = _compile


class _KeyIndex:
    """Every key of a template with the paths ``Template._search_deep_keys`` gives for it, in the same order."""

    def __init__(self) -> None:
        self.paths: dict[Any, list[list[Any]]] | None = None

    def of(self, template: Any) -> dict[Any, list[list[Any]]]:
        if self.paths is None:
            self.paths = {}
            _index_keys(template, [], self.paths)
        return self.paths


def _index_keys(node: Any, path: list[Any], paths: dict[Any, list[list[Any]]]) -> None:
    """``Template._search_deep_keys`` for every key at once: a match is [*path, key, value], found depth first."""
    if isinstance(node, dict):
        for key in node:
            at = path[:]
            at.append(key)
            value = node[key]
            paths.setdefault(key, []).append([*at, value])
            if isinstance(value, dict):
                _index_keys(value, at, paths)
            elif isinstance(value, list):
                for index, item in enumerate(value):
                    _index_keys(item, [*at, index], paths)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _index_keys(item, [*path, index], paths)


def _key_searches_in_one_walk() -> None:
    """``Template.search_deep_keys`` from one index while a window is open on the template (see the docstring)."""
    import cfnlint.template.template as template_module
    from cfnlint.template.template import Template

    search = Template.search_deep_keys
    construct = Template.__init__
    make_context = template_module.create_context_for_template

    def search_deep_keys(self: Any, searchText: Any, includeGlobals: bool = True) -> Any:
        window = self.__dict__.get("_ivc_unchanging")
        if window is None or type(searchText) is not str:
            return search(self, searchText, includeGlobals)
        results = [path[:] for path in window.of(self.template).get(searchText, ())]
        if includeGlobals:  # as Template.search_deep_keys does
            results.extend(["Globals", *found] for found in self._search_deep_keys(searchText, self.transform_pre.get("Globals"), []))
        return results

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        self._ivc_unchanging = _KeyIndex()
        try:
            construct(self, *args, **kwargs)
        finally:
            self.__dict__.pop("_ivc_unchanging", None)

    def create_context_for_template(cfn: Any) -> Any:
        cfn.__dict__.pop("_ivc_unchanging", None)  # it writes to the template (sorts Fn::Equals arguments)
        return make_context(cfn)

    __init__.__wrapped__ = construct  # type: ignore[attr-defined]
    Template.search_deep_keys = search_deep_keys
    Template.__init__ = __init__
    template_module.create_context_for_template = create_context_for_template


def _searches_in_one_walk_during_match(rule: Any) -> None:
    """Open the one-walk window on the template while ``rule.match(cfn)`` runs: it only reads the template."""
    original = rule.match

    def match(self: Any, cfn: Any) -> Any:
        if "_ivc_unchanging" in cfn.__dict__:
            return original(cfn)
        cfn._ivc_unchanging = _KeyIndex()
        try:
            return original(cfn)
        finally:
            del cfn._ivc_unchanging

    rule.match = types.MethodType(match, rule)


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple((key, _frozen(item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    return value


def _key_of(mapping: Any) -> Any:
    """A hashable key for what ``mapping`` holds: its items as they are when they hash (keyword functions), else frozen."""
    items = tuple(dict(mapping or {}).items())
    try:
        hash(items)
    except TypeError:
        return ("frozen", _frozen(items))
    return ("items", items)


def _memoise_validator_classes() -> None:
    import cfnlint.jsonschema.validators as validators_module

    original = validators_module.create
    classes: dict[Any, type] = {}
    field_names: dict[type, tuple[str, ...]] = {}

    def create(validators: Any = None, function_filter: Any = None, fn_resolvers: Any = None) -> type:
        settings = None
        if function_filter is not None:
            kind = type(function_filter)
            if kind not in field_names:
                field_names[kind] = tuple(f.name for f in dataclasses.fields(function_filter))
            settings = (kind, tuple((name, _frozen(getattr(function_filter, name))) for name in field_names[kind]))
        key = (_key_of(validators), settings, _key_of(fn_resolvers))
        try:
            return classes[key]
        except KeyError:
            pass
        except TypeError:  # something unhashable: build it as cfn-lint does
            return _with_direct_evolve(original(validators, function_filter, fn_resolvers))
        made = classes[key] = _with_direct_evolve(original(validators, function_filter, fn_resolvers))
        return made

    validators_module.create = create
    for name in ("CfnTemplateValidator", "StandardValidator"):
        _with_direct_evolve(getattr(validators_module, name))


def _with_direct_evolve(cls: type) -> type:
    """``Validator.evolve`` without ``fields()`` and ``__init__``: the same fields, the same values."""
    fields = dataclasses.fields(cls)
    given = tuple(f.name for f in fields if f.init)
    accepted = frozenset(given)
    # the others come from the class's default factories, which return the objects ``create`` captured
    derived = {f.name: f.default_factory() for f in fields if not f.init and f.default_factory is not dataclasses.MISSING}
    if len(derived) != len(fields) - len(given):
        return cls
    original = cls.evolve  # type: ignore[attr-defined]

    count = len(fields)

    def evolve(self: Any, **changes: Any) -> Any:
        state = self.__dict__
        if len(state) != count or not accepted.issuperset(changes):
            return original(self, **changes)  # an attribute that is no field, or what cfn-lint refuses
        new: Any = object.__new__(cls)
        values = new.__dict__
        values.update(state)  # the fields only (counted above): the given ones, then the derived ones anew
        values.update(derived)
        values.update(changes)
        new.__post_init__()
        return new

    cls.evolve = evolve  # type: ignore[attr-defined]
    return cls


def _direct_context_evolve() -> None:
    from cfnlint.context.context import Context

    given = tuple(f.name for f in dataclasses.fields(Context))
    accepted = frozenset(given)
    original = Context.evolve

    count = len(given)

    def evolve(self: Any, **changes: Any) -> Any:
        if not accepted.issuperset(changes):
            return original(self, **changes)
        if "ref_values" in changes:
            merged = self.ref_values.copy()
            merged.update(changes["ref_values"])
            changes["ref_values"] = merged
        new = object.__new__(Context)
        values = new.__dict__
        values.update(self.__dict__)
        if len(values) != count:
            # A cached ``module_names`` is derived from ``resources`` alone: kept with them, else computed again.
            kept = len(values) == count + 1 and "module_names" in values and "resources" not in changes
            if not kept:
                values.clear()
                values.update({name: self.__dict__[name] for name in given})
        values.update(changes)
        return new

    Context.evolve = evolve


def _direct_path_evolve() -> None:
    from cfnlint.context.context import Path
    from cfnlint.helpers import FUNCTIONS

    given = tuple(f.name for f in dataclasses.fields(Path))
    accepted = frozenset(given)
    original_evolve, original_descend = Path.evolve, Path.descend

    count = len(given)

    def evolve(self: Any, **changes: Any) -> Any:
        if len(self.__dict__) != count or not accepted.issuperset(changes):
            return original_evolve(self, **changes)
        new = object.__new__(Path)
        values = new.__dict__
        values.update(self.__dict__)
        values.update(changes)
        return new

    def descend(self: Any, **changes: Any) -> Any:
        cfn_path = changes.get("cfn_path")
        if cfn_path in FUNCTIONS or isinstance(cfn_path, int) or len(self.__dict__) != count or not accepted.issuperset(changes):
            return original_descend(self, **changes)  # raises what cfn-lint raises
        new = object.__new__(Path)
        state = self.__dict__
        values = new.__dict__
        values.update(state)
        for name, value in changes.items():
            if value is not None:
                values[name] = state[name] + deque([value])
        return new

    Path.evolve = evolve
    Path.descend = descend


def _index_cfn_lint_keyword(rule: Any) -> None:
    """E1101's ``cfnLint`` keyword, with child rules found by keyword in a dict instead of a nested loop."""
    from cfnlint.jsonschema._utils import Unset

    index: dict[str, list[Any]] = {}
    built = [False]
    initialize = rule.initialize

    def initialize_and_forget(self: Any, cfn: Any) -> Any:
        # Rules.run initialises every rule, then wires child rules anew, for each template: index them again
        built[0] = False
        return initialize(cfn)

    def children() -> dict[str, list[Any]]:
        if not built[0]:
            index.clear()
            for child in rule.child_rules.values():
                if child is None or not child.id:
                    continue
                for keyword in child.keywords:
                    index.setdefault(keyword, []).append(child)
            built[0] = True
        return index

    def cfnLint(self: Any, validator: Any, keywords: Any, instance: Any, schema: Any) -> Iterator[Any]:
        validator = validator.evolve(function_filter=validator.function_filter.evolve(add_cfn_lint_keyword=False))
        by_keyword = children()
        for keyword in keywords:
            for child in by_keyword.get(keyword, ()):
                for err in child.validate(validator, keyword, instance, schema):
                    if err.rule is None and isinstance(err.validator, Unset):
                        err.rule = child
                    yield err

    rule.initialize = types.MethodType(initialize_and_forget, rule)
    rule.cfnLint = types.MethodType(cfnLint, rule)


def _branches_of_the_engine(rule: Any) -> None:
    """E3062 with only the ``if`` branches whose ``Engine`` const is the instance's (literal) engine."""
    full = rule._schema
    branches = full.get("allOf")
    if set(full) - {"allOf", "description"} or not isinstance(branches, list):
        return
    by_engine: dict[str, dict[str, Any]] = {}
    for branch in branches:
        engine = branch.get("if", {}).get("properties", {}).get("Engine", {}).get("const") if isinstance(branch, dict) else None
        required = branch.get("if", {}).get("required", []) if isinstance(branch, dict) else []
        if not isinstance(engine, str) or "Engine" not in required or set(branch) - {"if", "then"}:
            return  # not the shape this was checked against: leave the rule as it is
        by_engine.setdefault(engine, {**full, "allOf": []})["allOf"].append(branch)
    original = rule.validate

    def validate(self: Any, validator: Any, keywords: Any, instance: Any, schema: Any) -> Iterator[Any]:
        engine = instance.get("Engine") if isinstance(instance, dict) else None
        if not isinstance(engine, str):
            yield from original(validator, keywords, instance, schema)
            return
        # the rule's own steps (DbInstanceDbInstanceClassWithEngine.validate), then its parent's with the branches
        validator = validator.evolve(context=validator.context.evolve(functions=[]))
        instance["Engine"] = engine.lower()
        pruned = by_engine.get(instance["Engine"], {**full, "allOf": []})
        yield from _validate_with(self, validator, instance, pruned)

    rule.validate = types.MethodType(validate, rule)


def _validate_with(rule: Any, validator: Any, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
    """``CfnLintJsonSchema.validate`` with ``schema`` in place of the rule's own."""
    from cfnlint.jsonschema._keywords_cfn import cfn_type

    cfn_validator = rule.extend_validator(
        validator=validator.evolve(
            function_filter=validator.function_filter.evolve(validate_dynamic_references=False, add_cfn_lint_keyword=False)
        ),
        schema=schema,
        context=validator.context.evolve(unresolvable_function_mode=True),
        validators={"type": cfn_type},
    )
    for err in rule._iter_errors(cfn_validator, instance):
        if not getattr(err, "unknown", False):
            yield err


def _only_resources_with(rule: Any, keys: frozenset[str]) -> None:
    """Run a rule on a resource only when it has one of ``keys``: its schema constrains nothing else."""
    original: Callable[..., Iterator[Any]] = rule.validate

    def validate(self: Any, validator: Any, keywords: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if (
            isinstance(instance, dict)
            and "Type" in instance
            and keys.isdisjoint(instance)
            and not any(str(k).startswith("Fn::") for k in instance)
        ):
            return
        yield from original(validator, keywords, instance, schema)

    rule.validate = types.MethodType(validate, rule)
