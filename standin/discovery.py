"""The discovery document and algorithm signatures that the Python client loads.

Both come from the installed earthengine-api package, which ships them for its own
tests under `ee/tests/`. They are read at start-up rather than copied into this
repository, so that they match the client version that the project pins.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import pathlib
from collections.abc import Iterator
from typing import Any

API_VERSIONS = ("v1", "v1beta", "v1alpha")
DEFAULT_API_VERSION = "v1"

# The shipped document describes v1alpha. Its method paths start with this prefix.
_SHIPPED_PREFIX = "v1alpha/"
_DISCOVERY_FILE = "cloud_api_discovery_document.json"
_ALGORITHMS_FILE = "algorithms.json"
# googleapiclient rejects keyword arguments that the document does not declare, and
# the Python client passes workloadTag to these methods when a tag is set.
_WORKLOAD_TAG = {"location": "query", "type": "string", "description": ""}
_ALGORITHM_NAME_PREFIX = "algorithms/"


def package_test_data() -> pathlib.Path:
    """Return the `ee/tests` folder of the installed earthengine-api package.

    The package is located without importing it, because `import ee` loads the
    whole client.
    """
    spec = importlib.util.find_spec("ee")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "earthengine-api is not installed: run pip install -r requirements-dev.txt"
        )
    return pathlib.Path(next(iter(spec.submodule_search_locations))) / "tests"


def load_discovery_documents(data_dir: pathlib.Path) -> dict[str, dict[str, Any]]:
    """Build one discovery document per served API version."""
    shipped = json.loads((data_dir / _DISCOVERY_FILE).read_text(encoding="utf-8"))
    return {version: _for_version(shipped, version) for version in API_VERSIONS}


def render_discovery_document(document: dict[str, Any], root_url: str) -> bytes:
    """Serialize a document with its root URL set to the server's own address.

    The Python client replaces rootUrl with the URL it was given, but other
    discovery clients follow it.
    """
    served = dict(document)
    served["rootUrl"] = root_url
    served["baseUrl"] = root_url
    return json.dumps(served).encode()


def load_algorithms(data_dir: pathlib.Path) -> bytes:
    """Return the `algorithms.list` response body with the genuine signatures.

    The client infers argument promotion and instance methods from these types,
    so a made-up list would make it build different expressions.
    """
    shipped = json.loads((data_dir / _ALGORITHMS_FILE).read_text(encoding="utf-8"))
    algorithms = shipped.get("algorithms") if isinstance(shipped, dict) else None
    if not isinstance(algorithms, list) or not algorithms:
        raise ValueError(f"{data_dir / _ALGORITHMS_FILE} has no algorithms list")

    # The client drops the first 11 characters of each name without checking them.
    misnamed = [
        algorithm.get("name")
        for algorithm in algorithms
        if not str(algorithm.get("name", "")).startswith(_ALGORITHM_NAME_PREFIX)
    ]
    if misnamed:
        raise ValueError(
            f"{data_dir / _ALGORITHMS_FILE}: names must start with"
            f" {_ALGORITHM_NAME_PREFIX!r}, got {misnamed[:3]}"
        )
    return json.dumps({"algorithms": algorithms}).encode()


def _for_version(shipped: dict[str, Any], version: str) -> dict[str, Any]:
    document = copy.deepcopy(shipped)
    document["version"] = version
    document["id"] = f"{document['name']}:{version}"

    projects = document["resources"]["projects"]
    projects.setdefault("methods", {})["getConfig"] = _get_config_method()
    projects["resources"]["locations"] = {
        "resources": {"thumbnails": {"methods": {"create": _regional_create_method()}}}
    }

    for method in _methods(document):
        for key in ("path", "flatPath"):
            method[key] = _with_version(method[key], version)
        if method["id"].endswith(".create") or ".compute" in method["id"]:
            method.setdefault("parameters", {})["workloadTag"] = dict(_WORKLOAD_TAG)
    return document


def _with_version(path: str, version: str) -> str:
    if not path.startswith(_SHIPPED_PREFIX):
        raise ValueError(f"unexpected method path {path!r} in {_DISCOVERY_FILE}")
    return version + "/" + path.removeprefix(_SHIPPED_PREFIX)


def _methods(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from resource.get("methods", {}).values()
    for child in resource.get("resources", {}).values():
        yield from _methods(child)


def _get_config_method() -> dict[str, Any]:
    return {
        "id": "earthengine.projects.getConfig",
        "httpMethod": "GET",
        "path": _SHIPPED_PREFIX + "{+name}",
        "flatPath": _SHIPPED_PREFIX + "projects/{projectsId}/config",
        "parameterOrder": ["name"],
        "parameters": {"name": _path_parameter("^projects/[^/]+/config$")},
        "response": {"type": "any"},
        "description": "",
    }


def _regional_create_method() -> dict[str, Any]:
    return {
        "id": "earthengine.projects.locations.thumbnails.create",
        "httpMethod": "POST",
        "path": _SHIPPED_PREFIX + "{+parent}/thumbnails",
        "flatPath": (
            _SHIPPED_PREFIX + "projects/{projectsId}/locations/{locationsId}/thumbnails"
        ),
        "parameterOrder": ["parent"],
        "parameters": {"parent": _path_parameter("^projects/[^/]+/locations/[^/]+$")},
        "request": {"type": "any"},
        "response": {"type": "any"},
        "description": "",
    }


def _path_parameter(pattern: str) -> dict[str, Any]:
    return {
        "location": "path",
        "pattern": pattern,
        "required": True,
        "type": "string",
        "description": "",
    }
