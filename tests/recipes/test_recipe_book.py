"""Recipe files: loading, checks of broken files, and expansion into render requests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from eerender import recipes
from eerender.config import Settings
from eerender.errors import ConfigurationError, InvalidRequest
from eerender.query import request_from_query
from eerender.request import parse_render_request

SETTINGS = Settings(ee_project="test-project")
STANDIN = Settings(ee_project="test-project", recipe_variant="standin")
SHIPPED = ("elevation", "hillshade", "landcover", "ndvi", "truecolour")

MINIMAL: dict[str, Any] = {
    "name": "demo",
    "description": "A constant image.",
    "parameters": {
        "level": {
            "type": "number",
            "description": "Pixel value.",
            "default": 1,
            "minimum": 0,
            "maximum": 10,
        },
        "label": {"type": "string", "description": "Any text."},
    },
    "expression": {
        "result": "0",
        "values": {
            "0": {
                "functionInvocationValue": {
                    "functionName": "Image.constant",
                    "arguments": {"value": {"parameter": "level"}},
                }
            }
        },
    },
    "render": {"region": [0, 0, 1, 1], "dimensions": 8, "format": "png"},
}


def write_book(folder: Path, *documents: dict[str, Any]) -> Settings:
    for document in documents:
        path = folder / f"{document.get('name', 'unnamed')}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
    return Settings(ee_project="test-project", recipe_dir=str(folder))


def broken(tmp_path: Path, **changes: Any) -> str:
    document = {**copy.deepcopy(MINIMAL), **changes}
    settings = write_book(tmp_path, document)
    with pytest.raises(ConfigurationError) as caught:
        recipes.book(settings)
    assert caught.value.code == "INVALID_RECIPE"
    assert "demo.json" in caught.value.message
    return caught.value.message


def request_error(data: Any, settings: Settings = SETTINGS) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        parse_render_request(data, settings)
    return caught.value


@pytest.mark.parametrize(
    "settings", [SETTINGS, STANDIN], ids=["earthengine", "standin"]
)
def test_shipped_recipes_parse(settings: Settings) -> None:
    book = recipes.book(settings)

    assert book.names() == list(SHIPPED)
    for recipe in book:
        request = parse_render_request({"recipe": recipe.name}, settings)
        assert request.file_format in ("PNG", "JPEG")
        assert request.region is not None


def test_shipped_descriptions_name_their_assets() -> None:
    book = recipes.book(SETTINGS)

    for recipe in book:
        assert "/" in recipe.description, recipe.name
    ndvi = book.get("ndvi").description
    assert "COPERNICUS/S2_SR_HARMONIZED" in ndvi
    assert "LANDSAT/LE07/C02/T1/LE07_OLINDA" in ndvi
    assert "local stand-in" in ndvi


def test_standin_variant_changes_assets() -> None:
    real = json.dumps(recipes.book(SETTINGS).get("ndvi").expression)
    local = json.dumps(recipes.book(STANDIN).get("ndvi").expression)

    assert "COPERNICUS/S2_SR_HARMONIZED" in real
    assert "LE07_OLINDA" in local
    truecolour = recipes.book(STANDIN).get("truecolour")
    assert truecolour.parameters["bbox"].default == [-10, 35, 30, 60]


def test_aliases_find_recipes() -> None:
    book = recipes.book(SETTINGS)

    assert book.get("srtm").name == "elevation"
    assert book.get(" RGB ").name == "truecolour"


def test_unknown_recipe_lists_recipes() -> None:
    error = request_error({"recipe": "elevashun"})

    assert error.code == "UNKNOWN_RECIPE"
    assert error.field == "/recipe"
    assert "'elevashun' does not exist" in error.message
    assert "elevation, hillshade, landcover, ndvi, truecolour" in error.message


def test_invalid_parameter_names_value_and_bounds() -> None:
    error = request_error({"recipe": "elevation", "params": {"lowest": 20000}})

    assert error.code == "INVALID_PARAMETER"
    assert error.field == "/params/lowest"
    assert "Parameter lowest of recipe elevation" in error.message
    assert "20000" in error.message
    assert "from -500 to 9000" in error.message


def test_unknown_parameter_lists_parameters() -> None:
    error = request_error({"recipe": "elevation", "params": {"colour": "red,blue"}})

    assert error.code == "INVALID_PARAMETER"
    assert error.field == "/params/colour"
    assert "bbox, lowest, highest, colors" in error.message


def test_recipe_and_expression_clash() -> None:
    error = request_error({"recipe": "elevation", "expression": {"result": "0"}})

    assert error.field == "/expression"
    assert "both a recipe and an expression" in error.message


def test_params_without_recipe() -> None:
    error = request_error({"params": {"bbox": "1,2,3,4"}})

    assert error.field == "/params"


def test_params_must_be_object() -> None:
    error = request_error({"recipe": "elevation", "params": "bbox=1,2,3,4"})

    assert error.field == "/params"


def test_request_fields_override_recipe() -> None:
    request = parse_render_request(
        {"recipe": "elevation", "dimensions": 64, "format": "jpeg"}, SETTINGS
    )

    assert request.dimensions == 64
    assert request.file_format == "JPEG"
    assert request.visualization is not None
    assert request.visualization["palette"][0] == "006633"


def test_request_scale_drops_recipe_dimensions() -> None:
    request = parse_render_request({"recipe": "elevation", "scale": 5000}, SETTINGS)

    assert request.scale == 5000
    assert request.dimensions is None


def test_request_visualization_options_drop_recipe_palette() -> None:
    options = {"ranges": [{"min": 0, "max": 100}]}
    request = parse_render_request(
        {"recipe": "elevation", "visualizationOptions": options}, SETTINGS
    )

    assert request.visualization is None
    assert request.visualization_options is not None


def test_query_with_recipe_and_bbox() -> None:
    query = {"recipe": ["elevation"], "bbox": ["10,45,11,46"], "dimensions": ["64"]}
    data = request_from_query(query)

    assert data == {
        "recipe": "elevation",
        "dimensions": "64",
        "params": {"bbox": "10,45,11,46"},
    }
    request = parse_render_request(data, SETTINGS)
    assert request.region is not None
    assert request.region.coordinates == [10, 45, 11, 46]


def test_query_bad_parameter_names_it() -> None:
    data = request_from_query({"recipe": ["elevation"], "bbox": ["10,45"]})
    error = request_error(data)

    assert error.field == "/params/bbox"
    assert "needs 4 numbers" in error.message


def test_parameter_value_cannot_change_expression(tmp_path: Path) -> None:
    document = copy.deepcopy(MINIMAL)
    document["expression"]["values"]["0"]["functionInvocationValue"]["arguments"] = {
        "value": {"constantValue": {"parameter": "level"}},
    }
    document["render"]["filenamePrefix"] = {"parameter": "label"}
    settings = write_book(tmp_path, document)
    hostile = '"}}, "values": {"1": {"constantValue": 2}}'

    request = parse_render_request(
        {"recipe": "demo", "params": {"label": hostile}}, settings
    )

    # A constant that looks like a placeholder stays a constant, and text stays text.
    body = request.thumbnail_body()
    assert request.filename_prefix == hostile
    assert {"parameter": "level"} in _constants(body["expression"])


def test_required_parameter_missing(tmp_path: Path) -> None:
    document = copy.deepcopy(MINIMAL)
    document["render"]["filenamePrefix"] = {"parameter": "label"}
    settings = write_book(tmp_path, document)

    error = request_error({"recipe": "demo"}, settings)

    assert error.code == "INVALID_PARAMETER"
    assert error.field == "/params/label"
    assert "needs parameter label" in error.message


def test_broken_json_file(tmp_path: Path) -> None:
    (tmp_path / "demo.json").write_text("{", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="demo.json is invalid"):
        recipes.book(Settings(ee_project="p", recipe_dir=str(tmp_path)))


def test_file_unknown_member(tmp_path: Path) -> None:
    assert "unknown members colour" in broken(tmp_path, colour="red")


def test_file_name_must_match(tmp_path: Path) -> None:
    document = {**copy.deepcopy(MINIMAL), "name": "other"}
    (tmp_path / "demo.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="must equal the file name 'demo'"):
        recipes.book(Settings(ee_project="p", recipe_dir=str(tmp_path)))


def test_file_unknown_type(tmp_path: Path) -> None:
    parameters = {"level": {"type": "integer", "description": "x"}}
    assert "type 'integer'" in broken(tmp_path, parameters=parameters)


def test_file_invalid_default(tmp_path: Path) -> None:
    parameters = copy.deepcopy(MINIMAL["parameters"])
    parameters["level"]["default"] = 99
    assert "above the maximum 10" in broken(tmp_path, parameters=parameters)


def test_file_unknown_bound(tmp_path: Path) -> None:
    parameters = copy.deepcopy(MINIMAL["parameters"])
    parameters["level"]["max_span"] = 3
    assert "unknown members max_span" in broken(tmp_path, parameters=parameters)


def test_file_reserved_parameter_name(tmp_path: Path) -> None:
    parameters = {"palette": {"type": "palette", "description": "x"}}
    assert "name of a render request field" in broken(tmp_path, parameters=parameters)


def test_file_undeclared_placeholder(tmp_path: Path) -> None:
    render = {**MINIMAL["render"], "min": {"parameter": "floor"}}
    assert "undeclared parameters floor" in broken(tmp_path, render=render)


def test_file_unknown_render_field(tmp_path: Path) -> None:
    render = {**MINIMAL["render"], "colour": "red"}
    assert "render has fields colour" in broken(tmp_path, render=render)


def test_file_broken_expression(tmp_path: Path) -> None:
    expression = {"result": "0", "values": {"0": {"valueReference": "missing"}}}
    assert "missing" in broken(tmp_path, expression=expression)


def test_file_variant_unknown_parameter(tmp_path: Path) -> None:
    variants = {"standin": {"parameters": {"depth": {"default": 1}}}}
    document = {**copy.deepcopy(MINIMAL), "variants": variants}
    settings = write_book(tmp_path, document)
    local = Settings(
        ee_project="p", recipe_dir=settings.recipe_dir, recipe_variant="standin"
    )
    with pytest.raises(ConfigurationError, match="undeclared parameters depth"):
        recipes.book(local)


def test_duplicate_alias(tmp_path: Path) -> None:
    first = {**copy.deepcopy(MINIMAL), "aliases": ["same"]}
    second = {**copy.deepcopy(MINIMAL), "name": "other", "aliases": ["same"]}
    settings = write_book(tmp_path, first, second)

    with pytest.raises(ConfigurationError, match="both use the name 'same'"):
        recipes.book(settings)


def test_missing_directory(tmp_path: Path) -> None:
    settings = Settings(ee_project="p", recipe_dir=str(tmp_path / "none"))

    with pytest.raises(ConfigurationError, match="fix RECIPE_DIR"):
        recipes.book(settings)


def test_usage_lists_parameters() -> None:
    usage = recipes.book(SETTINGS).get("hillshade").usage()

    assert usage.startswith("hillshade (also relief): ")
    assert "Usage: hillshade [center] name=value" in usage
    assert "azimuth: " in usage
    assert "Default 315." in usage


def _constants(expression: dict[str, Any]) -> list[Any]:
    found: list[Any] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "constantValue" in value:
                found.append(value["constantValue"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(expression)
    return found
