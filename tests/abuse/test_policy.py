"""The expression policy: which assets, buckets and algorithms expressions may use."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import pytest

from eerender import policy
from eerender.config import Settings
from eerender.errors import ConfigurationError, Forbidden
from eerender.request import parse_render_request

SETTINGS = Settings(
    ee_project="p",
    ee_api_url="https://earthengine.googleapis.com",
    render_bucket="renders",
    allowed_buckets=frozenset({"renders"}),
)


def restricted(**lists: frozenset[str] | None) -> Settings:
    return dataclasses.replace(SETTINGS, **lists)


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"functionInvocationValue": {"functionName": name, "arguments": arguments}}


def constant(value: Any) -> dict[str, Any]:
    return {"constantValue": value}


def load(asset_id: str) -> dict[str, Any]:
    return {"result": "0", "values": {"0": call("Image.load", id=constant(asset_id))}}


def parse(expression: Any, settings: Settings) -> None:
    parse_render_request({"expression": expression, "dimensions": 64}, settings)


def rejection(expression: Any, settings: Settings) -> Forbidden:
    with pytest.raises(Forbidden) as caught:
        parse(expression, settings)
    return caught.value


PUBLIC = restricted(allowed_asset_prefixes=frozenset({"USGS", "COPERNICUS/S2*"}))


@pytest.mark.parametrize(
    "asset_id",
    [
        "USGS/SRTMGL1_003",
        "projects/earthengine-public/assets/USGS/SRTMGL1_003",
        "COPERNICUS/S2_SR_HARMONIZED",
        "COPERNICUS/S2/20190101T000000_20190101T000000_T01AAA",
    ],
)
def test_asset_under_allowed_prefix(asset_id: str) -> None:
    parse(load(asset_id), PUBLIC)


@pytest.mark.parametrize(
    "asset_id",
    [
        "USGSX/SRTMGL1_003",  # a prefix matches whole path segments
        "projects/private-project/assets/secret",
        "projects/earthengine-public/assets/MODIS/006/MOD13Q1",
        "USGS/../projects/private-project/assets/secret",
        "USGS//SRTMGL1_003",
        "USGS/SRTM\u202eGL1",  # right-to-left override
        "USGS/SRTM\u200bGL1",  # zero-width space
        "USGS\uff0fSRTMGL1_003",  # full-width solidus
        " USGS/SRTMGL1_003",
        "",
    ],
)
def test_asset_outside_prefix_rejected(asset_id: str) -> None:
    error = rejection(load(asset_id), PUBLIC)

    assert error.code == "ASSET_NOT_ALLOWED"
    assert error.field == "/expression/values/0/functionInvocationValue/arguments/id"
    assert error.value == asset_id
    assert "RENDER_ALLOWED_ASSET_PREFIXES" in error.message


def test_rejection_names_nested_node() -> None:
    expression = {
        "result": "0",
        "values": {
            "0": call(
                "Image.add",
                image1=call("Image.load", id=constant("USGS/SRTMGL1_003")),
                image2=call("Image.load", id={"valueReference": "1"}),
            ),
            "1": constant("projects/private-project/assets/secret"),
        },
    }

    error = rejection(expression, PUBLIC)

    assert error.field == (
        "/expression/values/0/functionInvocationValue/arguments/image2/"
        "functionInvocationValue/arguments/id"
    )
    assert error.value == "projects/private-project/assets/secret"


def test_computed_asset_id_rejected_under_list() -> None:
    computed = call("String.cat", string1=constant("USGS/"), string2=constant("x"))
    expression = {"result": "0", "values": {"0": call("Image.load", id=computed)}}

    error = rejection(expression, PUBLIC)

    assert error.code == "SOURCE_NOT_CONSTANT"
    assert error.field.endswith("/arguments/id")


def test_function_argument_id_rejected_under_list() -> None:
    body = call("Image.load", id={"argumentReference": "id"})
    function = {"functionDefinitionValue": {"argumentNames": ["id"], "body": "1"}}
    expression = {
        "result": "0",
        "values": {
            "0": call(
                "ImageCollection.fromImages",
                images=call(
                    "List.map",
                    list=constant(["USGS/SRTMGL1_003"]),
                    baseAlgorithm={"valueReference": "2"},
                ),
            ),
            "1": body,
            "2": function,
        },
    }

    error = rejection(expression, PUBLIC)

    assert error.code == "SOURCE_NOT_CONSTANT"
    assert error.field == "/expression/values/1/functionInvocationValue/arguments/id"


def test_quasi_expression_checked() -> None:
    error = rejection(json.dumps(call("Image.load", id=constant("MODIS/x"))), PUBLIC)

    assert error.code == "ASSET_NOT_ALLOWED"
    assert error.field == "/expression/functionInvocationValue/arguments/id"


def test_unreachable_values_checked() -> None:
    expression = load("USGS/SRTMGL1_003")
    expression["values"]["9"] = call("Image.load", id=constant("MODIS/x"))

    assert rejection(expression, PUBLIC).field.startswith("/expression/values/9/")


def test_reference_cycle_outside_result_ends() -> None:
    expression = load("USGS/SRTMGL1_003")
    expression["values"]["8"] = call("Image.load", id={"valueReference": "9"})
    expression["values"]["9"] = {"valueReference": "8"}

    error = rejection(expression, PUBLIC)

    assert error.code == "SOURCE_NOT_CONSTANT"


def test_every_asset_loader_checked() -> None:
    for name, argument in policy.ASSET_LOADERS.items():
        expression = {
            "result": "0",
            "values": {"0": call(name, **{argument: constant("x/y")})},
        }
        error = rejection(expression, PUBLIC)
        assert error.code == "ASSET_NOT_ALLOWED", name


def test_empty_prefix_list_allows_no_asset() -> None:
    error = rejection(
        load("USGS/SRTMGL1_003"), restricted(allowed_asset_prefixes=frozenset())
    )

    assert error.code == "ASSET_NOT_ALLOWED"
    assert "prefixes: none" in error.message


def test_unset_allows_any_asset_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    policy._build_policy.cache_clear()
    with caplog.at_level(logging.WARNING, logger="eerender.policy"):
        parse(load("projects/anything/assets/at-all"), SETTINGS)

    assert "RENDER_ALLOWED_ASSET_PREFIXES is '*'" in caplog.text


def test_prefix_setting_from_environment() -> None:
    unset = Settings.from_environ({"EE_PROJECT": "p"})
    empty = Settings.from_environ(
        {"EE_PROJECT": "p", "RENDER_ALLOWED_ASSET_PREFIXES": ""}
    )
    star = Settings.from_environ(
        {"EE_PROJECT": "p", "RENDER_ALLOWED_ASSET_PREFIXES": "*"}
    )
    listed = Settings.from_environ(
        {"EE_PROJECT": "p", "RENDER_ALLOWED_ASSET_PREFIXES": "USGS, NASA/"}
    )

    assert unset.allowed_asset_prefixes is None
    assert star.allowed_asset_prefixes is None
    assert empty.allowed_asset_prefixes == frozenset()
    assert listed.allowed_asset_prefixes == frozenset({"USGS", "NASA/"})


def test_star_mixed_with_entries_is_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_environ(
            {"EE_PROJECT": "p", "RENDER_ALLOWED_ASSET_PREFIXES": "*,USGS"}
        )

    assert "RENDER_ALLOWED_ASSET_PREFIXES" in caught.value.message


@pytest.mark.parametrize("prefix", ["USGS/../x", "USGS//SRTM", "/", "a b"])
def test_malformed_prefix_is_configuration_error(prefix: str) -> None:
    settings = restricted(allowed_asset_prefixes=frozenset({prefix}))

    with pytest.raises(ConfigurationError) as caught:
        parse(load("USGS/SRTMGL1_003"), settings)

    assert caught.value.field == "RENDER_ALLOWED_ASSET_PREFIXES"


SOURCES = restricted(allowed_source_buckets=frozenset({"uploads"}))


def geotiff(uri: Any) -> dict[str, Any]:
    return {
        "result": "0",
        "values": {"0": call("Image.loadGeoTIFF", uri=constant(uri))},
    }


def test_geotiff_in_allowed_bucket() -> None:
    parse(geotiff("gs://uploads/scenes/a.tif"), SOURCES)


@pytest.mark.parametrize(
    "uri",
    [
        "gs://private/a.tif",
        "gs://uploads",
        "gs://uploads.evil/a.tif",
        "gs://UPLOADS/a.tif",
        "https://storage.googleapis.com/uploads/a.tif",
        "gs://private/../uploads/a.tif",
        "/vsigs/uploads/a.tif",
    ],
)
def test_geotiff_outside_buckets_rejected(uri: str) -> None:
    error = rejection(geotiff(uri), SOURCES)

    assert error.code == "SOURCE_BUCKET_NOT_ALLOWED"
    assert error.field == "/expression/values/0/functionInvocationValue/arguments/uri"
    assert "RENDER_ALLOWED_SOURCE_BUCKETS" in error.message


def test_every_uri_loader_checked() -> None:
    for name, argument in policy.URI_LOADERS.items():
        expression = {
            "result": "0",
            "values": {"0": call(name, **{argument: constant("gs://other/x")})},
        }
        assert rejection(expression, SOURCES).code == "SOURCE_BUCKET_NOT_ALLOWED", name


def test_billed_algorithm_rejected_by_default() -> None:
    query = call("FeatureCollection.runBigQuery", query=constant("SELECT 1"))
    expression = {"result": "0", "values": {"0": query}}

    error = rejection(expression, SETTINGS)

    assert error.code == "ALGORITHM_NOT_ALLOWED"
    assert error.field == "/expression/values/0/functionInvocationValue/functionName"
    assert "BigQuery" in error.message


def test_algorithm_allow_list_with_family() -> None:
    settings = restricted(allowed_algorithms=frozenset({"Image.*"}))
    parse(load("USGS/SRTMGL1_003"), settings)

    slope = call("Terrain.slope", input=call("Image.load", id=constant("USGS/x")))
    error = rejection({"result": "0", "values": {"0": slope}}, settings)

    assert error.code == "ALGORITHM_NOT_ALLOWED"
    assert error.value == "Terrain.slope"


def test_algorithm_family_does_not_allow_billed() -> None:
    settings = restricted(allowed_algorithms=frozenset({"Model.*"}))
    vertex = call("Model.fromVertexAi", endpoint=constant("e"))

    error = rejection({"result": "0", "values": {"0": vertex}}, settings)

    assert error.code == "ALGORITHM_NOT_ALLOWED"


def test_request_wrappers_not_subject_to_allow_list() -> None:
    settings = restricted(allowed_algorithms=frozenset({"Image.load"}))

    parse_render_request(
        {
            "expression": load("USGS/SRTMGL1_003"),
            "region": [0, 0, 1, 1],
            "dimensions": 64,
            "palette": ["000000", "ffffff"],
            "min": 0,
            "max": 1,
        },
        settings,
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://earthengine.googleapis.com/v1/projects/p/thumbnails/t:getPixels",
        "https://storage.googleapis.com/renders/renders/a.png?X-Goog-Signature=ab",
    ],
)
def test_redirect_to_own_hosts(url: str) -> None:
    policy.check_redirect(url, SETTINGS, "https://storage.googleapis.com")


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/v1/projects/p/thumbnails/t:getPixels",
        "https://earthengine.googleapis.com.evil.example/v1/x",
        "https://earthengine.googleapis.com@evil.example/v1/x",
        "https://user:pw@earthengine.googleapis.com/v1/x",
        "//evil.example/v1/x",
        "https:/\\evil.example/v1/x",
        "https://earthengine.googleapis.com/v1/x\r\nLocation: https://evil.example",
        "http://earthengine.googleapis.com/v1/x",
        "https://storage.googleapis.com/other-bucket/a.png",
        "https://storage.googleapis.com.evil.example/renders/a.png",
        "javascript:alert(1)",
    ],
)
def test_redirect_elsewhere_rejected(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        policy.check_redirect(url, SETTINGS, "https://storage.googleapis.com")

    assert caught.value.code == "REDIRECT_NOT_ALLOWED"
