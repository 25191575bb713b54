"""The README is a contract, kept honest the way datasette keeps its docs: every CLI command and option, every
environment variable the code reads and every URL parameter a page binds must be written in README.md."""
from __future__ import annotations

import argparse
import ast
import importlib
import re

import pytest

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """(command words, parser) for every command and nested command, e.g. ('users', 'add')."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name), sub
                yield from _subcommands(sub, (*prefix, name))


def _cli():
    from shisn.__main__ import build_parser
    return list(_subcommands(build_parser()))


@pytest.mark.parametrize("words", [w for w, _ in _cli()], ids=lambda w: " ".join(w))
def test_every_cli_command_is_in_the_readme(words):
    assert f"python -m shisn {' '.join(words)}" in README


def _options():
    out = set()
    for words, sub in _cli():
        for action in sub._actions:
            for opt in action.option_strings:
                if opt.startswith("--") and opt != "--help":
                    out.add((words[0], opt))
    return sorted(out)


@pytest.mark.parametrize("command,option", _options(), ids=lambda x: str(x))
def test_every_cli_option_is_in_the_readme(command, option):
    # written on a line of the README that names the command (a usage line or the sentence explaining it)
    lines = [ln for ln in README.splitlines() if f"shisn {command}" in ln or f"`{command}`" in ln]
    assert any(re.search(re.escape(option) + r"\b", ln) for ln in lines), \
        f"python -m shisn {command} {option} is not on any README line about `{command}`"


def _env_vars() -> list[str]:
    names = set()
    for path in [ROOT / "app.py", *ROOT.joinpath("shisn").glob("*.py"), *ROOT.joinpath("pages").glob("*.py"),
                 ROOT / "tests" / "pgcluster.py", ROOT / "tests" / "conftest.py"]:
        names |= set(re.findall(r"\bSHISN_[A-Z0-9_]+\b", path.read_text(encoding="utf-8")))
    return sorted(names)


def test_the_environment_variables_are_found():
    assert {"SHISN_DB", "SHISN_AUTH", "SHISN_DB_LOCK_WAIT"} <= set(_env_vars())


@pytest.mark.parametrize("name", _env_vars())
def test_every_environment_variable_is_in_the_readme(name):
    assert f"`{name}" in README, f"{name} is read by the code but not explained in README.md"


def test_the_postgresql_url_form_of_the_store_is_in_the_readme():
    assert "SHISN_DB=postgresql://" in README and "--db postgresql://" in README


# --- URL parameters: the keys pages bind to the query string ----------------------------------------------------

_KEY_ARG = {"bound_select": 2, "lazy_tabs": 1, "resolve_query_param": 0, "selection_select": 2, "url_selection": 0,
            "url_choice": 0, "Filter": 2, "Selection": 2}


def _value(node, aliases):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
        return getattr(importlib.import_module(aliases[node.value.id]), node.attr)
    return None


def _url_parameters():
    found = set()
    for path in sorted(ROOT.joinpath("pages").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in ("shisn",):
                for a in node.names:
                    aliases[a.asname or a.name] = f"shisn.{a.name}"
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            multi = any(k.arg == "multi" and isinstance(k.value, ast.Constant) and k.value.value for k in node.keywords)
            if name in _KEY_ARG and not multi:  # a multiselect Filter is kept in the session, not the URL
                arg = next((k.value for k in node.keywords if k.arg in ("key", "param")), None)
                if arg is None and len(node.args) > _KEY_ARG[name]:
                    arg = node.args[_KEY_ARG[name]]
                v = _value(arg, aliases) if arg is not None else None
                if v:
                    found.add((path.stem, v))
            if name == "get" and isinstance(f, ast.Attribute) and "query_params" in ast.unparse(f.value):
                v = _value(node.args[0], aliases) if node.args else None
                if v:
                    found.add((path.stem, v))
    return sorted(found)


def test_the_url_parameters_are_found():
    params = {p for _, p in _url_parameters()}
    assert {"cycle", "state", "view", "exchange", "selected_state", "pair"} <= params


@pytest.mark.parametrize("page,param", _url_parameters(), ids=lambda x: str(x))
def test_every_url_parameter_is_in_the_readme(page, param):
    assert re.search(rf"[?&`]{re.escape(param)}=", README), \
        f"/{page} binds ?{param}= but README.md does not show it (write it as ?{param}=… or `{param}=`)"
