"""task.toml's schema, as Harbor reads it (schema 1.0 and 1.1), plus lmc's [agent] max_steps and [desktop].

    check_config(tomllib.loads(text), errors, warnings) -> the known, valid values per section

Harbor's rules: keys nobody knows are ignored (here: a warning naming the known ones);
a value of the wrong type or an impossible one is refused (here: an error). Keys of
newer Harbor schemas that lmc knows but does not carry out are warnings saying what
lmc does instead.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Any

#: what a value must be, or None when it is right: e.g. "a number above 0"
Check = Callable[[Any], str | None]

KNOWN_VERSIONS = ("1.0", "1.1")
DIFFICULTIES = ("easy", "medium", "hard")
NETWORK_MODES = ("public", "no-network", "allowlist")
MCP_TRANSPORTS = ("sse", "streamable-http", "stdio")
_ORG_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*/[A-Za-z0-9_-][A-Za-z0-9._-]*")
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([GMK])\s*", re.IGNORECASE)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number(*, integer: bool = False, minimum: float = 0, above: bool = True) -> Check:
    """A number (an integer, if asked) above `minimum` (or at least it, with above=False)."""
    what = "an integer" if integer else "a number"
    bound = f"above {minimum:g}" if above else f"at least {minimum:g}"

    def check(value: Any) -> str | None:
        if not _is_number(value) or (integer and isinstance(value, float) and not value.is_integer()):
            return what
        return None if (value > minimum if above else value >= minimum) else f"{what} {bound}"

    return check


def of_type(kind: type, what: str) -> Check:
    """A value of one TOML type."""
    return lambda value: None if isinstance(value, kind) else what


def one_of(*choices: str) -> Check:
    """One of a few strings."""
    return lambda value: None if value in choices else f"one of {', '.join(map(repr, choices))}"


def _str_map(value: Any) -> str | None:
    ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    return None if ok else 'a table of strings, e.g. { NAME = "value" } (quote numbers)'


def _str_list(value: Any) -> str | None:
    return None if isinstance(value, list) and all(isinstance(v, str) for v in value) else "a list of strings"


def _user(value: Any) -> str | None:
    return None if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)) \
        else "a user name or a numeric uid"


def _size(value: Any) -> str | None:
    return None if isinstance(value, str) and _SIZE.fullmatch(value) else 'a size like "2G", "512M" or "4096K"'


def _authors(value: Any) -> str | None:
    ok = isinstance(value, list) and all(isinstance(a, dict) and isinstance(a.get("name"), str)
                                         and isinstance(a.get("email", ""), str) for a in value)
    return None if ok else 'a list of { name = "...", email = "..." }'


def _org_name(value: Any) -> str | None:
    ok = isinstance(value, str) and _ORG_NAME.fullmatch(value) is not None and ".." not in value
    return None if ok else '"org/name" (letters, digits, ".", "_", "-"; no "..")'


def _hosts(value: Any) -> str | None:
    if _str_list(value):
        return "a list of host names"
    bad = [h for h in value if any(c in h for c in ("://", "/", ":"))]
    return f"host names or IPv4 addresses, not URLs, ports or paths (got {bad[0]!r})" if bad else None


def _tables(value: Any) -> str | None:
    return None if isinstance(value, list) and all(isinstance(v, dict) for v in value) else "a list of tables"


def _table(value: Any) -> str | None:
    return None if isinstance(value, dict) else "a table"


STR, BOOL = of_type(str, "a string"), of_type(bool, "true or false")
POSITIVE, COUNT = number(), number(integer=True, above=False)
POSITIVE_INT, AT_LEAST_0 = number(integer=True), number(above=False)
NETWORK = one_of(*NETWORK_MODES)

#: known keys per section ("" is the top level); a section of None is free-form
SCHEMA: dict[str, dict[str, Check] | None] = {
    "": {"version": STR, "schema_version": STR, "source": STR},
    "task": {"name": _org_name, "description": STR, "authors": _authors, "keywords": _str_list},
    "metadata": None,
    "agent": {"timeout_sec": POSITIVE, "max_steps": POSITIVE_INT, "user": _user, "network_mode": NETWORK,
              "allowed_hosts": _hosts},
    "verifier": {"timeout_sec": POSITIVE, "env": _str_map, "user": _user, "network_mode": NETWORK,
                 "allowed_hosts": _hosts},
    "solution": {"env": _str_map},
    "environment": {"build_timeout_sec": POSITIVE, "docker_image": STR, "cpus": POSITIVE,
                    "memory_mb": POSITIVE_INT, "storage_mb": POSITIVE_INT, "memory": _size, "storage": _size,
                    "gpus": COUNT, "gpu_types": _str_list, "allow_internet": BOOL, "network_mode": NETWORK,
                    "allowed_hosts": _hosts, "mcp_servers": _tables, "env": _str_map, "skills_dir": STR,
                    "healthcheck": _table},
    "environment.healthcheck": {"command": STR, "interval_sec": AT_LEAST_0, "timeout_sec": POSITIVE,
                                "start_period_sec": AT_LEAST_0, "start_interval_sec": AT_LEAST_0,
                                "retries": COUNT},
    "environment.mcp_servers": {"name": STR, "transport": one_of(*MCP_TRANSPORTS), "url": STR, "command": STR,
                                "args": _str_list},
    "desktop": {"app": STR, "width": POSITIVE_INT, "height": POSITIVE_INT, "ready_window": STR,
                "ready_timeout_sec": POSITIVE},
}
REQUIRED = {"task": "name", "environment.healthcheck": "command", "environment.mcp_servers": "name",
            "desktop": "app"}
#: keys Harbor knows (some from schemas after 1.1) that lmc reads but does not carry out: what happens instead
NOT_CARRIED_OUT = {
    ("", "artifacts"): "lmc does not copy artifacts out of the environment; only /logs is kept",
    ("", "steps"): "multi-step tasks are not supported; lmc runs instruction.md and tests/ once",
    ("", "multi_step_reward_mode"): "multi-step tasks are not supported",
    ("environment", "tpu"): "lmc attaches no TPUs",
    ("environment", "mcp_servers"): "lmc's agent has no MCP client; the servers are not offered to the model",
    ("environment", "skills_dir"): "lmc copies no skills into the agent's configuration",
    ("verifier", "environment"): "lmc verifies in the agent's container (or a copy: --verifier separate)",
    ("verifier", "environment_mode"): "lmc verifies in the agent's container (or a copy: --verifier separate)",
    ("verifier", "collect"): "lmc runs no collect hooks before verifying",
}


def size_mb(text: str) -> int:
    """Harbor's deprecated sizes in megabytes: "2G" -> 2048, "512M" -> 512, "4096K" -> 4."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError(f"size {text!r} is not like '2G', '512M' or '4096K'")
    amount, unit = float(match.group(1)), match.group(2).upper()
    return int(amount * 1024) if unit == "G" else int(amount) if unit == "M" else int(amount / 1024)


def _where(section: str) -> str:
    return f"[{section}]" if section else "the top level"


def _unknown(section: str, key: str, known: list[str], warnings: list[str]) -> None:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    warnings.append(f"task.toml: unknown key {key!r} in {_where(section)}, ignored (as Harbor does); "
                    f"{hint}known: {', '.join(known)}")


def _check_section(section: str, values: dict[str, Any], errors: list[str], warnings: list[str]) -> dict[str, Any]:
    schema = SCHEMA[section] or {}
    kept: dict[str, Any] = {}
    for key, value in values.items():
        if (section, key) in NOT_CARRIED_OUT and value not in (None, [], {}, ""):
            warnings.append(f"task.toml: {_where(section)} {key}: {NOT_CARRIED_OUT[section, key]}")
        if key not in schema:
            if (section, key) not in NOT_CARRIED_OUT and not (section == "environment" and key == "os"):
                _unknown(section, key, list(schema), warnings)
            continue
        wanted = schema[key](value)
        if wanted:
            errors.append(f"task.toml: {_where(section)} {key} must be {wanted}, got {value!r}")
        else:
            kept[key] = value
    required = REQUIRED.get(section)
    if required and required not in values:  # (a wrong value of it is reported above)
        errors.append(f"task.toml: {_where(section)} needs {required} = ...")
    return kept


def _check_environment(values: dict[str, Any], errors: list[str], warnings: list[str]) -> dict[str, Any]:
    env = _check_section("environment", values, errors, warnings)
    os_name = values.get("os", "linux")
    if os_name != "linux":
        warnings.append(f"task.toml: [environment] os = {os_name!r}: lmc runs Linux containers only; "
                        "this task will not run")
    if "healthcheck" in env:
        health = _check_section("environment.healthcheck", env["healthcheck"], errors, warnings)
        env["healthcheck"] = health
        if "command" not in health:
            del env["healthcheck"]
    servers = []
    for server in env.get("mcp_servers", []):
        kept = _check_section("environment.mcp_servers", server, errors, warnings)
        transport = kept.get("transport", "sse")
        needs = "command" if transport == "stdio" else "url"
        if needs not in kept:
            errors.append(f"task.toml: [[environment.mcp_servers]] {kept.get('name', '?')!r} with transport "
                          f"{transport!r} needs {needs} = ...")
        servers.append(kept)
    if servers:
        env["mcp_servers"] = servers
    return env


def _check_network(section: str, values: dict[str, Any], errors: list[str]) -> None:
    hosts, mode = values.get("allowed_hosts"), values.get("network_mode")
    if hosts and mode not in (None, "allowlist"):
        errors.append(f"task.toml: {_where(section)} allowed_hosts is only valid with network_mode = 'allowlist' "
                      f"(got {mode!r}); remove one of them")
        del values["allowed_hosts"]
    elif hosts:
        normal = [h.strip().lower().rstrip(".") for h in hosts]
        values["allowed_hosts"] = list(dict.fromkeys(h for h in normal if h))


def _check_version(data: dict[str, Any], warnings: list[str]) -> str:
    version = data.get("schema_version", data.get("version", "1.0"))
    if isinstance(version, str) and version not in KNOWN_VERSIONS:
        newer = re.fullmatch(r"1\.\d+", version) is not None
        warnings.append(f"task.toml: schema version {version!r} is "
                        f"{'newer than' if newer else 'not one of'} the ones lmc knows ({', '.join(KNOWN_VERSIONS)}); "
                        "it is read as 1.1 and keys lmc does not know are ignored")
    return str(version)


def check_config(data: dict[str, Any], errors: list[str], warnings: list[str]) -> dict[str, Any]:
    """The valid values of a parsed task.toml, per section; its problems appended to errors and warnings."""
    config: dict[str, Any] = {name: {} for name in ("task", "metadata", "agent", "verifier", "solution",
                                                    "environment")}
    sections = [s for s in SCHEMA if s and "." not in s]
    for key, value in data.items():
        if key in sections:
            if not isinstance(value, dict):
                errors.append(f"task.toml: {key} must be a section ([{key}]), got {value!r}")
        elif isinstance(value, dict):
            close = difflib.get_close_matches(key, sections, n=1)
            hint = f"did you mean [{close[0]}]? " if close else ""
            warnings.append(f"task.toml: unknown section [{key}], ignored (as Harbor does); {hint}"
                            f"known: {', '.join(sections)}")
        else:
            config.update(_check_section("", {key: value}, errors, warnings))
    config["schema_version"] = _check_version(data, warnings)
    for section in ("task", "agent", "verifier", "solution", "desktop"):
        if isinstance(data.get(section), dict):
            config[section] = _check_section(section, data[section], errors, warnings)
    if isinstance(data.get("metadata"), dict):
        config["metadata"] = dict(data["metadata"])
    if isinstance(data.get("environment"), dict):
        config["environment"] = _check_environment(data["environment"], errors, warnings)
    for section in ("agent", "verifier", "environment"):
        _check_network(section, config[section], errors)
    if "desktop" in config and "app" not in config["desktop"]:
        config.pop("desktop")
    return config
