"""The documentation is a contract, kept honest the way datasette keeps its docs, in both directions.

The documentation is README.md plus every docs/*.md, read as one text. Code → docs: every CLI command and option,
every environment variable the code reads and every URL parameter a page binds is written in it. Docs → code: every
`python -m shisn COMMAND [SUB]` written in it is a real command, every `--option` written after one exists for that
command, every `SHISN_…` name is read by the code, every `?param=` is bound by a page, every module or name of the
code written in backticks (`shisn/store/db.py`, `shisn.services.submissions`, `ingest.check_rows`) exists, and every
relative link (a file, a heading's anchor) leads somewhere.

Code files are found by globbing (app.py, shisn/**/*.py, pages/*.py, tests/**/*.py, benchmarks/*.py), never by
module name, so the checks follow the code when it moves."""

from __future__ import annotations

import argparse
import ast
import functools
import importlib
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "app.py").is_file())
DOC_FILES = [ROOT / "README.md", *sorted(ROOT.joinpath("docs").glob("*.md"))]
DOCS = "\n".join(p.read_text(encoding="utf-8") for p in DOC_FILES)
WHERE = "README.md or docs/*.md"


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _doc_lines():
    """(file, line number, line) for every line of the documentation."""
    for path in DOC_FILES:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            yield _rel(path), n, line


def _code_files() -> list[Path]:
    this = Path(__file__).resolve()
    files = [
        ROOT / "app.py",
        *ROOT.glob("shisn/**/*.py"),
        *ROOT.glob("pages/*.py"),
        *ROOT.glob("tests/**/*.py"),
        *ROOT.glob("benchmarks/*.py"),
    ]
    return sorted({p.resolve() for p in files if p.resolve() != this})


# --- the command line --------------------------------------------------------------------------------------------


def _build_parser() -> argparse.ArgumentParser:
    """The CLI's parser, from whichever module under shisn/ defines `build_parser` (the one __main__ runs)."""
    for path in sorted(ROOT.glob("shisn/**/*.py")):
        if re.search(r"^def build_parser\(", path.read_text(encoding="utf-8"), re.M):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            return importlib.import_module(module).build_parser()
    raise AssertionError("no shisn/**/*.py defines build_parser()")


def _subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """(command words, parser) for every command and nested command, e.g. ('users', 'add')."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name), sub
                yield from _subcommands(sub, (*prefix, name))


_CLI = dict(_subcommands(_build_parser()))


def _long_options(parser: argparse.ArgumentParser) -> set[str]:
    return {opt for action in parser._actions for opt in action.option_strings if opt.startswith("--")}


def test_the_commands_are_found():
    assert {("load",), ("users", "add"), ("cycles", "open"), ("notify", "send"), ("check",)} <= set(_CLI)


@pytest.mark.parametrize("words", sorted(_CLI), ids=lambda w: " ".join(w))
def test_every_cli_command_is_in_the_docs(words):
    assert f"python -m shisn {' '.join(words)}" in DOCS, f"python -m shisn {' '.join(words)} is not written in {WHERE}"


def _options():
    out = set()
    for words, sub in _CLI.items():
        for opt in _long_options(sub) - {"--help"}:
            out.add((words[0], opt))
    return sorted(out)


@pytest.mark.parametrize("command,option", _options(), ids=lambda x: str(x))
def test_every_cli_option_is_in_the_docs(command, option):
    # written on a line of the docs that names the command (a usage line or the sentence explaining it)
    lines = [ln for _, _, ln in _doc_lines() if f"shisn {command}" in ln or f"`{command}`" in ln]
    assert any(re.search(re.escape(option) + r"\b", ln) for ln in lines), (
        f"python -m shisn {command} {option} is not on any line of {WHERE} about `{command}`"
    )


_WRITTEN = re.compile(r"python -m shisn ([a-z][\w-]*)(?: ([a-z][\w-]*))?")


def _written_commands():
    """(file:line, the command as written, the text up to the next command or the end of the line)."""
    out = []
    for name, n, line in _doc_lines():
        found = list(_WRITTEN.finditer(line))
        for i, m in enumerate(found):
            end = found[i + 1].start() if i + 1 < len(found) else len(line)
            out.append((f"{name}:{n}", m.group(0), line[m.start() : end]))
    return out


def _resolve(written: str):
    """The parser a command written in the docs names, or an error message."""
    m = _WRITTEN.fullmatch(written)
    command, word = m.group(1), m.group(2)
    if (command,) not in _CLI:
        return (
            f"`python -m shisn {command}` is not a command (commands: {', '.join(w[0] for w in _CLI if len(w) == 1)})"
        )
    parser = _CLI[(command,)]
    subs = sorted(w[1] for w in _CLI if len(w) == 2 and w[0] == command)
    if subs:  # a command with subcommands: the next word must be one of them
        if word not in subs:
            return f"`python -m shisn {command} {word}`: {command} has the subcommands {', '.join(subs)}"
        return _CLI[(command, word)]
    if word:  # a bare word where the command's first positional takes fixed choices (`exchanges load`)
        first = next((a for a in parser._actions if not a.option_strings and a.dest != "help"), None)
        if first is not None and first.choices and word not in first.choices:
            return f"`python -m shisn {command} {word}`: {command} takes {', '.join(first.choices)} there"
    return parser


def test_the_written_commands_are_found():
    written = {w for _, w, _ in _written_commands()}
    assert {"python -m shisn copy", "python -m shisn notify send", "python -m shisn exchanges load"} <= written


def _ids(cases):
    return [pytest.param(*c, id=f"{c[0]} {c[1]}") for c in cases]


@pytest.mark.parametrize("where,written,span", _ids(_written_commands()))
def test_every_command_in_the_docs_is_real(where, written, span):
    parser = _resolve(written)
    assert isinstance(parser, argparse.ArgumentParser), f"{where}: {parser}"


@pytest.mark.parametrize("where,written,span", _ids([c for c in _written_commands() if "--" in c[2]]))
def test_every_option_written_after_a_command_exists(where, written, span):
    parser = _resolve(written)
    assert isinstance(parser, argparse.ArgumentParser), f"{where}: {parser}"
    options = _long_options(parser)
    unknown = [o for o in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", span) if o not in options]
    assert not unknown, f"{where}: `{written}` has no option {', '.join(unknown)} (it has {', '.join(sorted(options))})"


# --- environment variables ---------------------------------------------------------------------------------------

# Names the docs may write that no code reads. Empty: every SHISN_ name in the docs is a real setting. Add a name
# here (with why) only if the docs use it as an example.
EXAMPLE_VARIABLES: set[str] = set()


def _env_vars() -> list[str]:
    names = set()
    for path in _code_files():
        names |= set(re.findall(r"\bSHISN_[A-Z0-9_]+\b", path.read_text(encoding="utf-8")))
    return sorted(names)


_CODE_VARIABLES = set(_env_vars())


def test_the_environment_variables_are_found():
    assert {"SHISN_DB", "SHISN_AUTH", "SHISN_DB_LOCK_WAIT", "SHISN_SMTP_URL", "SHISN_TEST_PG"} <= _CODE_VARIABLES


@pytest.mark.parametrize("name", sorted(_CODE_VARIABLES))
def test_every_environment_variable_is_in_the_docs(name):
    assert f"`{name}" in DOCS, f"{name} is read by the code but not explained in {WHERE}"


@pytest.mark.parametrize("name", sorted(set(re.findall(r"\bSHISN_[A-Z0-9_]+\b", DOCS))))
def test_every_environment_variable_in_the_docs_is_read_by_the_code(name):
    assert name in _CODE_VARIABLES or name in EXAMPLE_VARIABLES, (
        f"{WHERE} writes {name}, which no code reads (app.py, shisn/, pages/, tests/, benchmarks/)"
    )


def test_the_postgresql_url_form_of_the_store_is_in_the_docs():
    assert "SHISN_DB=postgresql://" in DOCS and "--db postgresql://" in DOCS


# --- URL parameters: the keys pages bind to the query string ----------------------------------------------------

_KEY_ARG = {
    "bound_select": 2,
    "lazy_tabs": 1,
    "resolve_query_param": 0,
    "selection_select": 2,
    "url_selection": 0,
    "url_choice": 0,
    "Filter": 2,
    "Selection": 2,
    "SelectionFilter": 2,
    "cycle_filter": 1,
}
_KEY_DEFAULT = {"cycle_filter": "cycle"}  # the key a helper binds when the page does not name one

# `?name=` written in the docs that is not a page's parameter: the query string of the mail relay's URL
# (SHISN_SMTP_URL's `?starttls=required|off`).
NOT_PAGE_PARAMETERS = {"starttls"}


def _constant(module: str, name: str):
    """A module's top-level `NAME = "text"`, read from its source (importing the module would cost a second)."""
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if (
                    isinstance(node, ast.Assign)
                    and isinstance(node.value, ast.Constant)
                    and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
                ):
                    return node.value.value
    return None


def _value(node, aliases):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
        return _constant(aliases[node.value.id], node.attr)
    return None


def _aliases(tree) -> dict[str, str]:
    """Names a page binds to shisn modules: `from shisn.web import ui` → {'ui': 'shisn.web.ui'}."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "shisn":
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "shisn" and a.asname:
                    aliases[a.asname] = a.name
    return aliases


def _url_parameters():
    found = set()
    for path in sorted(ROOT.joinpath("pages").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = _aliases(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Subscript) and "query_params" in ast.unparse(node.value):
                v = _value(node.slice, aliases)  # st.query_params["kind"] = …
                if v:
                    found.add((path.stem, v))
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            multi = any(k.arg == "multi" and isinstance(k.value, ast.Constant) and k.value.value for k in node.keywords)
            if name in _KEY_ARG and not multi:  # a multiselect Filter is kept in the session, not the URL
                arg = next((k.value for k in node.keywords if k.arg in ("key", "param")), None)
                if arg is None and len(node.args) > _KEY_ARG[name]:
                    arg = node.args[_KEY_ARG[name]]
                v = _value(arg, aliases) if arg is not None else _KEY_DEFAULT.get(name)
                if v:
                    found.add((path.stem, v))
            if name == "get" and isinstance(f, ast.Attribute) and "query_params" in ast.unparse(f.value):
                v = _value(node.args[0], aliases) if node.args else None
                if v:
                    found.add((path.stem, v))
    return sorted(found)


_PAGE_PARAMETERS = _url_parameters()


def test_the_url_parameters_are_found():
    params = {p for _, p in _PAGE_PARAMETERS}
    assert {"cycle", "state", "view", "exchange", "selected_state", "pair", "kind", "unsubscribe"} <= params


@pytest.mark.parametrize("page,param", _PAGE_PARAMETERS, ids=lambda x: str(x))
def test_every_url_parameter_is_in_the_docs(page, param):
    assert re.search(rf"[?&`]{re.escape(param)}=", DOCS), (
        f"/{page} binds ?{param}= but {WHERE} does not show it (write it as ?{param}=… or `{param}=`)"
    )


def _written_parameters():
    out = {}
    for name, n, line in _doc_lines():
        for param in re.findall(r"[?&]([a-z][a-z0-9_]*)=", line):
            out.setdefault(param, f"{name}:{n}")
    return sorted(out.items())


@pytest.mark.parametrize("param,where", [pytest.param(p, w, id=p) for p, w in _written_parameters()])
def test_every_url_parameter_in_the_docs_is_bound_by_a_page(param, where):
    assert param in {p for _, p in _PAGE_PARAMETERS} or param in NOT_PAGE_PARAMETERS, (
        f"{where} writes ?{param}=, which no page in pages/ binds"
    )


# --- links between the documents ---------------------------------------------------------------------------------


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LMN")
    return kept.replace(" ", "-")


@functools.cache
def _anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        m = None if fenced else re.match(r"#{1,6} (.+?)\s*#*\s*$", line)
        if m:
            slug = _slug(m.group(1))
            out.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
            seen[slug] = seen.get(slug, 0) + 1
    return out


def _links():
    out = []
    for name, n, line in _doc_lines():
        for target in re.findall(r"\]\(([^)\s]+)\)", line):
            if not re.match(r"[a-z]+:", target):  # not https:, mailto:
                out.append((f"{name}:{n}", target))
    return out


def test_the_links_are_found():
    assert any(t.startswith("docs/") for _, t in _links()) and any("#" in t for _, t in _links())


@pytest.mark.parametrize("where,target", _ids(_links()))
def test_every_relative_link_resolves(where, target):
    source = ROOT / where.rsplit(":", 1)[0]
    file, _, anchor = target.partition("#")
    path = (source.parent / file).resolve() if file else source
    assert path.exists(), f"{where}: {target} links to a file that does not exist"
    if anchor:
        assert path.suffix == ".md" and anchor in _anchors(path), (
            f"{where}: {target}: {_rel(path)} has no heading with the anchor #{anchor}"
        )


# --- the code the docs name: module files, dotted names, module.attribute ---------------------------------------

# `shisn.<word>…` written in the docs that is not Python: the store's file name (`shisn.duckdb`, its `.wal` and lock
# files beside it) and a host name in an example (`shisn.agency.gov`).
NOT_MODULES = {"duckdb", "agency"}


@functools.cache
def _modules() -> dict[str, list[Path]]:
    """Module base name → its files under shisn/ (`ingest` → [shisn/store/ingest.py])."""
    out: dict[str, list[Path]] = {}
    for path in ROOT.glob("shisn/**/*.py"):
        out.setdefault(path.stem, []).append(path)
    return out


@functools.cache
def _defined(path: Path) -> set[str]:
    """The names a module defines or imports at its top level."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                names |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _code_references():
    """(file:line, name) for every `shisn/…py` path, `shisn.a.b` name and `module.attribute` written in backticks."""
    modules = _modules()
    out = []
    for name, n, line in _doc_lines():
        for code in re.findall(r"`([^`]+)`", line):
            for ref in re.findall(r"\bshisn/[\w/]+\.py\b", code):
                out.append((f"{name}:{n}", ref))
            for ref in re.findall(r"(?<![\w/.])shisn(?:\.[A-Za-z_]\w*)+(?![\w-])", code):
                if ref.split(".")[1] not in NOT_MODULES:
                    out.append((f"{name}:{n}", ref))
            for ref in re.findall(r"(?<![\w/.])([a-z_]\w*)\.([A-Za-z_]\w*)(?![\w./-])", code):
                if ref[0] in modules and ref[0] != "shisn" and ref[1] != "py":  # `auth.py` is a file name
                    out.append((f"{name}:{n}", ".".join(ref)))
    return sorted(set(out))


def _resolves(ref: str) -> bool:
    if ref.endswith(".py"):
        return (ROOT / ref).is_file()
    parts = ref.split(".")
    if parts[0] == "shisn":  # the longest prefix that is a module file or package, the rest an attribute
        for i in range(len(parts), 0, -1):
            base = ROOT.joinpath(*parts[:i])
            path = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
            if path.is_file():
                rest = parts[i:]
                return not rest or (len(rest) == 1 and rest[0] in _defined(path))
        return False
    return any(parts[1] in _defined(p) for p in _modules()[parts[0]])


def test_the_code_references_are_found():
    refs = {r for _, r in _code_references()}
    assert any(r.endswith(".py") for r in refs) and any(r.startswith("shisn.") for r in refs) and len(refs) > 10


@pytest.mark.parametrize("where,ref", _ids(_code_references()))
def test_every_module_and_name_the_docs_write_exists(where, ref):
    assert _resolves(ref), f"{where}: `{ref}` is not in the code (a module moved or a name changed?)"
