"""Jinja2 and theme folders live here: find the theme chain, load templates and UI strings."""

from __future__ import annotations

import json
import traceback
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping
from weakref import WeakKeyDictionary

import jinja2
from jinja2 import Environment
from jinja2.runtime import Context, Macro
from jinja2.utils import internalcode
from markupsafe import Markup, escape

try:
    from markupsafe._speedups import _escape_inner as _escape_text
except ImportError:  # pragma: no cover (markupsafe without its C part, or another version of it)
    _escape_text = None  # type: ignore[assignment]

from .config import Config
from .errors import Problem, ThemeError, shown_path
from .yamlload import load_yaml

PACKAGE_THEMES = Path(__file__).parent / "themes"
# In a source checkout the default theme sits at the repository's top level, not in the package.
SOURCE_THEMES = Path(__file__).parent.parent / "themes"


@dataclass(frozen=True)
class ThemeLayer:
    """One theme of the chain: its name and folder."""

    name: str
    folder: Path


def theme_chain(config: Config) -> tuple[ThemeLayer, ...]:
    """The theme and its parents (`extends:` in theme.yaml), most specific first."""
    chain: list[ThemeLayer] = []
    name: str | None = config.theme
    while name:
        if any(layer.name == name for layer in chain):
            names = " -> ".join([*(layer.name for layer in chain), name])
            raise ThemeError(Problem("theme.yaml", None, f"themes extend each other in a loop: {names}"))
        folder = find_theme(name, config.root)
        info = _theme_info(folder, config)
        chain.append(ThemeLayer(name, folder))
        parent = info.get("extends")
        name = str(parent) if parent else None
    return tuple(chain)


def find_theme(name: str, root: Path) -> Path:
    """The folder of a theme: the site's own themes/ first, then the themes that ship with storysite."""
    for base in (root / "themes", PACKAGE_THEMES, SOURCE_THEMES):
        folder = base / name
        if (folder / "templates").is_dir():
            return folder
    available = sorted({p.name for base in (root / "themes", PACKAGE_THEMES, SOURCE_THEMES) if base.is_dir() for p in base.iterdir()})
    raise ThemeError(Problem("storysite.yaml", None, f"theme '{name}' not found", "available: " + ", ".join(available)))


def _theme_info(folder: Path, config: Config) -> dict[str, Any]:
    path = folder / "theme.yaml"
    if not path.is_file():
        return {}
    data, _ = load_yaml(path.read_text("utf-8"), shown_path(path, config.root))
    return data if isinstance(data, dict) else {}


def make_environment(config: Config, chain: tuple[ThemeLayer, ...]) -> Environment:
    """One Jinja environment: site templates/, then the theme chain, then each theme by prefix."""
    loaders: list[jinja2.BaseLoader] = []
    site_templates = config.root / "templates"
    if site_templates.is_dir():
        loaders.append(jinja2.FileSystemLoader(site_templates))
    loaders += [jinja2.FileSystemLoader(layer.folder / "templates") for layer in chain]
    loaders.append(jinja2.PrefixLoader({layer.name: jinja2.FileSystemLoader(layer.folder / "templates") for layer in chain}))
    env = _Environment(
        loader=_RememberMissing(jinja2.ChoiceLoader(loaders)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Each build makes its own environment, and no template changes while it lives.
        auto_reload=False,
    )
    # |tojson prints the JSON-LD of every page: through one encoder of sorted keys, as Jinja's policy prints it.
    env.policies["json.dumps_function"] = _json_dumps
    env.policies["json.dumps_kwargs"] = {}
    return env


_sorted_json = json.JSONEncoder(sort_keys=True).encode


def _json_dumps(value: Any, **options: Any) -> str:
    """json.dumps(value, sort_keys=True, **options), with no encoder made anew when there are no options."""
    return json.dumps(value, sort_keys=True, **options) if options else _sorted_json(value)


# What templates call most besides macros (UI strings, URLs, dates): told nothing of the context unless marked.
_PLAIN_FUNCTIONS = frozenset({types.FunctionType, types.MethodType, types.BuiltinFunctionType})
# Jinja hands a macro the caller's evaluation context (its __call__ is marked so); a Jinja that does it
# otherwise gets its macros called its own way.
_MACRO_TAKES_EVAL_CONTEXT = getattr(getattr(Macro.__call__, "jinja_pass_arg", None), "name", None) == "eval_context"


class _Context(Context):
    """Jinja's context, with a short way through calls of plain functions: a page makes hundreds of them."""

    @internalcode
    def call(self, obj: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        kind = type(obj)
        if kind is Macro and _MACRO_TAKES_EVAL_CONTEXT:
            args = (self.eval_ctx, *args)  # as Jinja calls a macro: it escapes by the caller's autoescape
        elif kind not in _PLAIN_FUNCTIONS or hasattr(obj, "jinja_pass_arg"):
            return super().call(obj, *args, **kwargs)
        if kwargs:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
        try:
            return obj(*args, **kwargs)
        except StopIteration:
            return self.environment.undefined("value was undefined because a callable raised a StopIteration exception")


def _escape(value: Any) -> Markup:
    """markupsafe's escape, with a short way for plain text: a page prints some two hundred values."""
    if type(value) is str:
        # What Markup(text) makes of a str, without going through Markup.__new__ (written in Python).
        return str.__new__(Markup, _escape_text(value))
    if type(value) is Markup:
        return value
    return escape(value)


class _Template(jinja2.Template):
    """A template whose printed values go through `_escape` (autoescape prints each through `escape`)."""

    @classmethod
    def _from_namespace(cls, environment: Environment, namespace: Any, globals: Any) -> Any:
        # The compiled module imports Jinja's escape, which is markupsafe's; its functions look it up here.
        if namespace.get("escape") is escape and _escape_text is not None:
            namespace["escape"] = _escape
        return super()._from_namespace(environment, namespace, globals)


class _Environment(Environment):
    context_class = _Context
    template_class = _Template


class _RememberMissing(jinja2.BaseLoader):
    """Looks for a missing template once: most-specific-first choice asks for many that no theme has."""

    def __init__(self, loader: jinja2.BaseLoader) -> None:
        self.loader = loader
        self.missing: set[str] = set()

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        if template in self.missing:
            raise jinja2.TemplateNotFound(template)
        try:
            return self.loader.get_source(environment, template)
        except jinja2.TemplateNotFound:
            self.missing.add(template)
            raise

    def list_templates(self) -> list[str]:
        return self.loader.list_templates()


def load_strings(config: Config, chain: tuple[ThemeLayer, ...]) -> dict[str, dict[str, str]]:
    """UI strings by language: parents first, so a child theme overrides only what it names."""
    strings: dict[str, dict[str, str]] = {}
    for layer in reversed(chain):
        folder = layer.folder / "i18n"
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.yaml")):
            data, _ = load_yaml(path.read_text("utf-8"), shown_path(path, config.root))
            if not isinstance(data, dict):
                raise ThemeError(Problem(shown_path(path, config.root), 1, "must map keys to UI strings"))
            strings.setdefault(path.stem, {}).update({str(k): str(v) for k, v in data.items()})
    return strings


def translator(strings: Mapping[str, Mapping[str, str]], language: str) -> Callable[..., str]:
    """t(key, **values) for one language, falling back to the base language, then English."""
    said: dict[str, str] = {}
    for table in (strings.get("en", {}), strings.get(language.split("-")[0].split("_")[0], {}), strings.get(language, {})):
        said.update(table)  # the most specific last: it wins

    def t(key: str, **values: Any) -> str:
        text = said.get(key)
        if text is None:
            raise ThemeError(Problem(f"i18n/{language}.yaml", None, f"no UI string '{key}'", "add it to the theme's i18n files"))
        return text.format(**values) if values else text

    return t


def static_layers(config: Config, chain: tuple[ThemeLayer, ...]) -> list[Path]:
    """Folders of theme static files, parents first so children override them."""
    return [layer.folder / "static" for layer in reversed(chain) if (layer.folder / "static").is_dir()]


_chosen: WeakKeyDictionary[Environment, dict[tuple[str, ...], jinja2.Template]] = WeakKeyDictionary()
"""The template each list of names chose in an environment: its templates do not change while it lives (see
`make_environment`), and looking for the most specific one each time costs as much as a small page."""


def render_template(env: Environment, names: list[str], variables: dict[str, Any]) -> tuple[str, str]:
    """Render the first template of `names` that exists (most specific first); return its name and text."""
    chosen, key = _chosen.setdefault(env, {}), tuple(names)
    try:
        template = chosen.get(key)
        if template is None:
            template = chosen[key] = env.select_template(names)
    except jinja2.TemplateSyntaxError as exc:
        raise ThemeError(Problem(exc.filename or exc.name or names[-1], exc.lineno, f"template error: {exc.message}")) from None
    except jinja2.TemplatesNotFound:
        raise ThemeError(Problem("templates/", None, "no template found", "tried " + ", ".join(names))) from None
    try:
        return template.name or names[-1], template.render(variables)
    except ThemeError:
        raise
    except jinja2.TemplateError as exc:
        raise ThemeError(_template_problem(exc, template)) from None


def _template_problem(exc: Exception, template: jinja2.Template) -> Problem:
    """Point at the template line that failed: Jinja puts template frames into the traceback."""
    where, line = template.filename or template.name or "template", None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith((".html", ".xml", ".txt")):
            where, line = frame.filename, frame.lineno
    message = getattr(exc, "message", None) or str(exc)
    return Problem(where, line, f"template error: {message}", "check the variable names against docs/templates.md")
