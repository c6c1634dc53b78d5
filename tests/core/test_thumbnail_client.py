"""Bodies built from requests equal what the official client sends for getThumbURL.

The official earthengine-api client runs unchanged against a small recording server on
127.0.0.1 that serves the discovery document and algorithm list shipped in its own
package and records each ``thumbnails.create`` body. Each test builds an image with the
client, renders it with ``getThumbURL(params)``, and compares the recorded body with the
one ``parse_render_request`` builds from the same parameters.
"""

from __future__ import annotations

import json
import pathlib
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from eerender.config import Settings
from eerender.expression import parse_expression
from eerender.region import parse_region
from eerender.request import parse_render_request
from eerender.serializer import encode_expression
from eerender.sizing import GridRequest
from eerender.thumbnail import FILE_FORMATS, build_body, frame_image

PROJECT = "recording-project"
SETTINGS = Settings(ee_project=PROJECT)
LANDSAT = "LANDSAT/LC08/C02/T1_TOA/LC08_044034_20140318"
SRTM = "USGS/SRTMGL1_003"
BAY_AREA = [-122.5, 37.6, -122.3, 37.8]
BAY_POLYGON = {
    "type": "Polygon",
    "coordinates": [[[-122.5, 37.6], [-122.3, 37.6], [-122.3, 37.8], [-122.5, 37.6]]],
}


class _RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, package: pathlib.Path) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.discovery = (
            package / "tests/cloud_api_discovery_document.json"
        ).read_bytes()
        self.algorithms = (package / "tests/algorithms.json").read_bytes()
        self.bodies: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _RecordingHandler(BaseHTTPRequestHandler):
    server: _RecordingServer

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/$discovery/rest":
            self._send(self.server.discovery)
        elif path.endswith(f"/projects/{PROJECT}/algorithms"):
            self._send(self.server.algorithms)
        else:
            self._send(b'{"error": {"code": 404, "message": "no such path"}}', 404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length))
        if self.path.split("?")[0].endswith(f"/projects/{PROJECT}/thumbnails"):
            self.server.bodies.append(body)
            name = f"projects/{PROJECT}/thumbnails/recorded"
            self._send(json.dumps({"name": name}).encode())
        else:
            self._send(b'{"error": {"code": 404, "message": "no such path"}}', 404)

    def _send(self, payload: bytes, status: int = HTTPStatus.OK) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        del format, args  # Quiet: pytest shows failures, not request lines.


@pytest.fixture(scope="module")
def client() -> Iterator[tuple[Any, _RecordingServer]]:
    import ee

    server = _RecordingServer(pathlib.Path(ee.__file__).parent)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # The start-up catalog fetch would go to Cloud Storage; the client tolerates none.
    ee.deprecation._FetchDataCatalogStac = lambda: {}
    try:
        ee.Initialize(credentials=None, url=server.url, project=PROJECT)
        yield ee, server
    finally:
        ee.Reset()
        server.shutdown()
        server.server_close()


def client_body(
    client: tuple[Any, _RecordingServer], image: Any, params: dict[str, Any]
) -> dict[str, Any]:
    ee, server = client
    server.bodies.clear()
    url = image.getThumbURL(dict(params))
    assert url.endswith(":getPixels")
    assert len(server.bodies) == 1
    return server.bodies[0]


def our_body(image: Any, params: dict[str, Any]) -> dict[str, Any]:
    import ee

    request = {**params, "expression": ee.serializer.encode(image)}
    return parse_render_request(request, SETTINGS).thumbnail_body()


def _images(ee: Any) -> dict[str, Any]:
    aoi = ee.Geometry.Rectangle([-122.6, 37.6, -122.3, 37.9])
    ndvi = (
        ee.ImageCollection("COPERNICUS/S2_SR_HARMONIZED")
        .filterDate("2023-06-01", "2023-09-01")
        .filterBounds(aoi)
        .median()
        .normalizedDifference(["B8", "B4"])
    )
    scaled = (
        ee.ImageCollection("LANDSAT/LC08/C02/T1_L2")
        .map(lambda image: ee.Image(image).multiply(0.0000275).add(-0.2))
        .median()
    )
    expression = ee.Image(LANDSAT).expression(
        "(a - b) / (a + b)",
        {"a": ee.Image(LANDSAT).select("B5"), "b": ee.Image(LANDSAT).select("B4")},
    )
    return {
        "srtm": ee.Image(SRTM),
        "landsat_rgb": ee.Image(LANDSAT).select(["B4", "B3", "B2"]),
        "ndvi": ndvi,
        "mapped": scaled.select(["SR_B4", "SR_B3", "SR_B2"]),
        "expression": expression,
    }


CASES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "bbox_and_number",
        "landsat_rgb",
        {
            "region": BAY_AREA,
            "dimensions": 512,
            "format": "png",
            "min": 0,
            "max": 0.3,
            "bands": ["B4", "B3", "B2"],
        },
    ),
    (
        "size_crs_geojson",
        "srtm",
        {
            "region": BAY_POLYGON,
            "dimensions": "512x256",
            "crs": "EPSG:3857",
            "format": "jpg",
            "min": 0,
            "max": 3000,
            "palette": ["000000", "ffffff"],
        },
    ),
    (
        "scale_bands_range",
        "landsat_rgb",
        {"region": BAY_AREA, "scale": 30, "bands": "B4,B3,B2", "min": 0, "max": 0.3},
    ),
    (
        "palette_shared_region",
        "ndvi",
        {
            "region": [-122.6, 37.6, -122.3, 37.9],
            "dimensions": 512,
            "min": -0.2,
            "max": 0.8,
            "palette": ["a52a2a", "ffff00", "008000"],
            "format": "png",
        },
    ),
    (
        "crs_transform_window",
        "srtm",
        {
            "crs": "EPSG:32610",
            "crs_transform": [30, 0, 500000, 0, -30, 4200000],
            "dimensions": [256, 128],
        },
    ),
    (
        "crs_transform_string_region",
        "srtm",
        {
            "crs": "EPSG:32610",
            "crsTransform": "[30, 0, 500000, 0, -30, 4200000]",
            "region": BAY_AREA,
        },
    ),
    (
        "two_corners_geotiff",
        "srtm",
        {"region": [[-122.5, 37.6], [-122.3, 37.8]], "scale": 90, "format": "GEO_TIFF"},
    ),
    (
        "point_list_polygon",
        "srtm",
        {
            "region": [[-122.5, 37.6], [-122.3, 37.6], [-122.3, 37.8], [-122.5, 37.6]],
            "dimensions": [300],
            "min": 0,
            "max": 1000,
        },
    ),
    (
        "multipolygon_string",
        "srtm",
        {
            "region": json.dumps(
                {
                    "type": "MultiPolygon",
                    "coordinates": [
                        [[[0, 0], [1, 0], [1, 1], [0, 0]]],
                        [[[2, 2], [3, 2], [3, 3]]],
                    ],
                }
            ),
            "dimensions": 100,
        },
    ),
    (
        "stretch_options",
        "landsat_rgb",
        {
            "region": BAY_AREA,
            "dimensions": 64,
            "gain": [1, 1.5, 2],
            "bias": 0.1,
            "gamma": "1.4",
            "opacity": 0.5,
        },
    ),
    (
        "force_rgb",
        "srtm",
        {"region": BAY_AREA, "dimensions": 64, "forceRgbOutput": True, "max": 1000},
    ),
    (
        "mapped_collection",
        "mapped",
        {"region": BAY_AREA, "dimensions": 256, "min": 0, "max": 0.3},
    ),
    (
        "function_reference",
        "expression",
        {"region": BAY_AREA, "dimensions": 256, "min": -1, "max": 1},
    ),
]


@pytest.mark.parametrize(
    ("image_name", "params"),
    [(image, params) for _, image, params in CASES],
    ids=[name for name, _, _ in CASES],
)
def test_body_matches_client(
    client: tuple[Any, _RecordingServer], image_name: str, params: dict[str, Any]
) -> None:
    image = _images(client[0])[image_name]

    expected = client_body(client, image, params)
    actual = our_body(image, params)

    assert actual == expected
    assert json.dumps(actual) == json.dumps(expected), "key order differs"


SPELLINGS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "palette_names",
        {"palette": "brown, #FF0, Green", "dimensions": [512]},
        {"palette": ["a52a2a", "ffff00", "008000"], "dimensions": 512},
    ),
    (
        "palette_short_hex",
        {"palette": ["#f00", "0F0"], "dimensions": "512"},
        {"palette": ["ff0000", "00ff00"], "dimensions": 512},
    ),
    ("size_list", {"dimensions": [640, 320]}, {"dimensions": "640x320"}),
    (
        "format_alias",
        {"fileFormat": "JPEG", "dimensions": 64},
        {"format": "jpg", "dimensions": 64},
    ),
]


@pytest.mark.parametrize(
    ("ours", "canonical"),
    [(ours, canonical) for _, ours, canonical in SPELLINGS],
    ids=[name for name, _, _ in SPELLINGS],
)
def test_spelling_matches_client_canonical(
    client: tuple[Any, _RecordingServer],
    ours: dict[str, Any],
    canonical: dict[str, Any],
) -> None:
    image = _images(client[0])["ndvi"]
    region = {"region": [-122.6, 37.6, -122.3, 37.9], "min": 0, "max": 1}

    expected = client_body(client, image, {**canonical, **region})
    actual = our_body(image, {**ours, **region})

    assert actual == expected


def test_missing_size_matches_client_default(
    client: tuple[Any, _RecordingServer],
) -> None:
    image = _images(client[0])["srtm"]

    expected = client_body(client, image, {"region": BAY_AREA, "dimensions": 1024})
    actual = our_body(image, {"region": BAY_AREA})

    assert actual == expected


def test_region_only_frame_matches_client_clip(
    client: tuple[Any, _RecordingServer],
) -> None:
    ee = client[0]
    image = _images(ee)["srtm"]
    source = parse_expression(
        ee.serializer.encode(image), "/expression", max_nodes=5000, max_depth=100
    )
    grid = GridRequest(region=parse_region(BAY_AREA, "/region"))

    expected = client_body(client, image, {"region": BAY_AREA})
    actual = build_body(
        frame_image(source.root, grid),
        FILE_FORMATS["AUTO_JPEG_PNG"],
        band_ids=[],
        visualization_options=None,
        grid=None,
        filename_prefix=None,
    )

    assert actual == expected
    assert (
        actual["expression"]["values"]["0"]["functionInvocationValue"]["functionName"]
        == "Image.clip"
    )


@pytest.mark.parametrize("image_name", ["srtm", "ndvi", "mapped", "expression"])
def test_reencoding_keeps_client_encoding(
    client: tuple[Any, _RecordingServer], image_name: str
) -> None:
    ee = client[0]
    image = _images(ee)[image_name]
    encoded = ee.serializer.encode(image)

    checked = parse_expression(encoded, "/expression", max_nodes=5000, max_depth=100)

    assert encode_expression(checked.root) == encoded


def test_reencoding_keeps_lists_and_deep_chains(
    client: tuple[Any, _RecordingServer],
) -> None:
    ee = client[0]
    names = ee.List(["B4", "B3"])
    image = ee.Image(LANDSAT).select(names).addBands(ee.Image(SRTM).select(names))
    for step in range(60):
        image = image.add(step)
    image = image.set("pairs", [[0, 0], [0, 0]]).set("big", 112233445566778899)
    encoded = ee.serializer.encode(image)

    checked = parse_expression(encoded, "/expression", max_nodes=5000, max_depth=100)

    assert encode_expression(checked.root) == encoded


@pytest.mark.parametrize("pretty", [False, True])
def test_serialize_output_accepted(
    client: tuple[Any, _RecordingServer], pretty: bool
) -> None:
    ee = client[0]
    image = _images(ee)["mapped"]

    checked = parse_expression(
        image.serialize(pretty=pretty), "/expression", max_nodes=5000, max_depth=100
    )

    assert encode_expression(checked.root) == ee.serializer.encode(image)
