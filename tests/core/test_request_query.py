"""GET query strings turned into request objects."""

from __future__ import annotations

import json
import pathlib
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest

from eerender.config import Settings
from eerender.errors import InvalidRequest
from eerender.request import parse_render_request, request_from_query

EXPRESSIONS = json.loads(
    (pathlib.Path(__file__).parents[1] / "data" / "expressions.json").read_text()
)
SETTINGS = Settings(ee_project="p", render_bucket="renders-bucket")


def query(**params: str) -> dict[str, list[str]]:
    return parse_qs(urlencode(params), keep_blank_values=True)


def test_query_fields_typed() -> None:
    request = request_from_query(
        query(
            expression=json.dumps(EXPRESSIONS["srtm"]),
            region="-122.5,37.6,-122.3,37.8",
            dimensions="512x256",
            scale="30.5",
            min="0",
            max="3000,3000,3000",
            bands="B4,B3,B2",
            palette="red,blue",
            forceRgbOutput="true",
            signedUrl="0",
            format="png",
        )
    )

    assert request["expression"] == EXPRESSIONS["srtm"]
    assert request["region"] == [-122.5, 37.6, -122.3, 37.8]
    assert request["dimensions"] == "512x256"
    assert request["scale"] == 30.5
    assert request["min"] == 0
    assert request["max"] == [3000, 3000, 3000]
    assert request["bands"] == ["B4", "B3", "B2"]
    assert request["palette"] == "red,blue"
    assert request["forceRgbOutput"] is True
    assert request["signedUrl"] is False
    assert request["format"] == "png"


def test_query_geojson_region_and_destination() -> None:
    polygon = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}

    request = request_from_query(
        query(
            region=json.dumps(polygon),
            **{"destination.bucket": "renders-bucket", "destination.object": "a.png"},
        )
    )

    assert request["region"] == polygon
    assert request["destination"] == {"bucket": "renders-bucket", "object": "a.png"}


def test_query_matches_json_request() -> None:
    from_query = request_from_query(
        query(
            expression=json.dumps(EXPRESSIONS["srtm"]),
            region="-122.5,37.6,-122.3,37.8",
            dimensions="512",
            min="0",
            max="3000",
            palette="black,white",
        )
    )
    from_json = {
        "expression": EXPRESSIONS["srtm"],
        "region": [-122.5, 37.6, -122.3, 37.8],
        "dimensions": 512,
        "min": 0,
        "max": 3000,
        "palette": ["000000", "ffffff"],
    }

    ours = parse_render_request(from_query, SETTINGS)
    expected = parse_render_request(from_json, SETTINGS)

    assert ours.thumbnail_body() == expected.thumbnail_body()


@pytest.mark.parametrize(
    ("args", "field", "named"),
    [
        ({"min": ["0", "1"]}, "/min", "2 times"),
        ({"scale": ["thirty"]}, "/scale", "'thirty'"),
        ({"max": ["1,,2"]}, "/max", "''"),
        ({"expression": ["{not json"]}, "/expression", "'{not json'"),
        ({"signedUrl": ["maybe"]}, "/signedUrl", "'maybe'"),
        ({"region": ["0,0,east,1"]}, "/region", "'east'"),
    ],
)
def test_query_rejected(args: dict[str, list[str]], field: str, named: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        request_from_query(args)

    assert caught.value.field == field
    assert named in caught.value.message


def test_query_unknown_field_passed_to_checks() -> None:
    request: dict[str, Any] = request_from_query(query(dimension="512"))

    with pytest.raises(InvalidRequest) as caught:
        parse_render_request({**request, "expression": EXPRESSIONS["srtm"]}, SETTINGS)

    assert caught.value.field == "/dimension"
