"""No secret value ever appears in a template or anywhere in output/."""

from __future__ import annotations

import re
from typing import Any

from conftest import ROOT

SECRET_LOOKING_KEYS = {"MasterUserPassword", "Password", "SecretString", "AuthToken"}
SECRET_NAMED_VARIABLE = re.compile(r"(PASSWORD|SECRET|TOKEN|API_KEY)", re.I)
CREDENTIAL_PATTERNS = [re.compile(p) for p in (r"AKIA[0-9A-Z]{16}", r"-----BEGIN [A-Z ]*PRIVATE KEY-----", r"sk_live_[0-9a-zA-Z]+")]


def walk(value: Any, path: str = "") -> list[tuple[str, str, Any]]:
    found = []
    if isinstance(value, dict):
        for key, child in value.items():
            found.append((path, key, child))
            found.extend(walk(child, f"{path}/{key}"))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(walk(child, f"{path}/{index}"))
    return found


def test_no_secret_value_in_output() -> None:
    import json

    files = sorted((ROOT / "output").rglob("*.json"))
    assert files
    for file in files:
        text = file.read_text()
        for pattern in CREDENTIAL_PATTERNS:
            assert not pattern.search(text), f"{file}: {pattern.pattern}"
        for path, key, value in walk(json.loads(text)):
            if key in SECRET_LOOKING_KEYS:
                # Only a dynamic reference resolved by CloudFormation at deploy time is allowed.
                assert isinstance(value, dict) and "{{resolve:secretsmanager:" in json.dumps(value), f"{file}:{path}/{key}"
            if key == "Environment" and isinstance(value, list):
                for variable in value:
                    assert not SECRET_NAMED_VARIABLE.search(variable["Name"]), f"{file}:{path}: {variable['Name']} is plain text"
