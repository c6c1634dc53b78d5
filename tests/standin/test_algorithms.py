"""Algorithm tests with expressions built by the official Earth Engine client.

The client serializes offline once its shipped algorithm signatures are loaded.
Thumbnail bodies come from the client's own getThumbURL code path, captured at the
point where it would call the REST API.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import ee
import numpy as np
import pytest
from ee import apitestcase
from PIL import Image as PILImage

from standin.engine import Engine
from standin.errors import EEError
from tests.standin.test_engine import shared_engine

SRTM = "USGS/SRTMGL1_003"
LANDSAT = "LANDSAT/LE07/C02/T1/LE07_OLINDA"
LAND_COVER = "MODIS/061/MCD12Q1"
MONTHLY = "NASA/BLUE_MARBLE_NG/MONTHLY"


class _ThumbnailCapture:
    """Stands in for the client's REST resource and keeps the request body."""

    def __init__(self) -> None:
        self.body: dict[str, Any] = {}

    def thumbnails(self) -> _ThumbnailCapture:
        return self

    def create(self, parent: str, fields: str, body: dict[str, Any], **_: Any) -> str:
        self.body = body
        return "call"


@pytest.fixture(scope="session")
def engine() -> Engine:
    return shared_engine()


@pytest.fixture(scope="module")
def client() -> Iterator[_ThumbnailCapture]:
    patch = pytest.MonkeyPatch()
    patch.setattr(ee.data, "getAlgorithms", apitestcase.GetAlgorithms)
    ee.ApiFunction.initialize()
    capture = _ThumbnailCapture()
    patch.setattr(ee.data, "_get_cloud_projects", lambda: capture)
    patch.setattr(
        ee.data, "_execute_cloud_call", lambda call, num_retries=None: {"name": "x"}
    )
    yield capture
    patch.undo()
    ee.ApiFunction.reset()


def thumbnail_body(capture: _ThumbnailCapture, image: ee.Image, **params: Any) -> Any:
    image.getThumbURL(params)
    return capture.body


def encode(obj: Any) -> dict[str, Any]:
    return json.loads(obj.serialize())


def value(engine: Engine, obj: Any) -> Any:
    return engine.compute_value({"expression": encode(obj)})


def pixels(
    engine: Engine, image: ee.Image, region: list[float], size: int
) -> np.ndarray:
    """Return an NPY render of `image` over a lon/lat box, `size` pixels wide."""
    clipped = image.clipToBoundsAndScale(
        geometry=ee.Geometry.Rectangle(region, None, False), width=size, height=size
    )
    data, _ = engine.compute_pixels(
        {"expression": encode(clipped), "fileFormat": "NPY"}
    )
    return np.load(io.BytesIO(data))


def png(engine: Engine, body: dict[str, Any]) -> np.ndarray:
    data, content_type = engine.render_thumbnail(body)
    assert content_type == "image/png"
    return np.asarray(PILImage.open(io.BytesIO(data)))


# --- Landsat and land cover -------------------------------------------------------


def test_landsat_ndvi_sea_negative_land_positive(engine: Engine, client: Any) -> None:
    ndvi = ee.Image(LANDSAT).normalizedDifference(["B4", "B3"])
    data, _ = engine.compute_pixels({"expression": encode(ndvi), "fileFormat": "NPY"})
    grid = np.load(io.BytesIO(data))["nd"]
    assert grid.shape == (352, 349)
    # The scene's east edge is the Atlantic; its north-west is forest.
    assert grid[200:300, 330:349].mean() < -0.2
    assert grid[20:120, 20:120].mean() > 0.1


def test_expression_equals_normalized_difference(engine: Engine, client: Any) -> None:
    scene = ee.Image(LANDSAT)
    by_expression = scene.expression(
        "(nir - red) / (nir + red)",
        {"nir": scene.select("B4").toFloat(), "red": scene.select("B3")},
    )
    reference = scene.normalizedDifference(["B4", "B3"])
    difference = by_expression.subtract(reference).abs()
    data, _ = engine.compute_pixels(
        {"expression": encode(difference), "fileFormat": "NPY"}
    )
    values = np.load(io.BytesIO(data))
    assert float(values[values.dtype.names[0]].max()) < 1e-5


def test_expression_ternary_and_band_function(engine: Engine, client: Any) -> None:
    scene = ee.Image(LANDSAT)
    flags = scene.expression("b('B4') > 60 ? 2 : 1")
    values = pixels(engine, flags, [-34.9, -8.0, -34.85, -7.95], 8)
    assert set(np.unique(values[values.dtype.names[0]])) <= {0, 1, 2}


def test_land_cover_sahara_barren_amazon_forest(engine: Engine, client: Any) -> None:
    classes = ee.ImageCollection(LAND_COVER).first().select("LC_Type1")
    sahara = pixels(engine, classes, [10, 22, 12, 24], 4)["LC_Type1"]
    amazon = pixels(engine, classes, [-63, -5, -61, -3], 4)["LC_Type1"]
    pacific = pixels(engine, classes, [-150, 0, -148, 2], 4)["LC_Type1"]
    assert (sahara == 16).mean() > 0.9
    assert (amazon == 2).mean() > 0.9
    assert (pacific == 17).all()


def test_water_mask_ocean_and_land(engine: Engine, client: Any) -> None:
    water = ee.Image("MODIS/MOD44W/MOD44W_005_2000_02_24").select("water_mask")
    assert (pixels(engine, water, [-40, 30, -38, 32], 4)["water_mask"] == 1).all()
    assert (pixels(engine, water, [20, 0, 22, 2], 4)["water_mask"] == 0).all()


# --- Masks and arithmetic ---------------------------------------------------------


def test_update_mask_and_unmask(engine: Engine, client: Any) -> None:
    srtm = ee.Image(SRTM)
    high = srtm.updateMask(srtm.gt(1000)).unmask(-1)
    values = pixels(engine, high, [85, 27, 89, 31], 8)["elevation"]
    assert (values == -1).any()
    assert (values > 1000).any()
    assert not ((values >= 0) & (values <= 1000)).any()


def test_where_self_mask_and_constant(engine: Engine, client: Any) -> None:
    srtm = ee.Image(SRTM)
    classes = ee.Image(0).where(srtm.gt(500), 1).where(srtm.gt(3000), 2).rename("c")
    values = pixels(engine, classes, [85, 25, 89, 31], 16)["c"]
    assert {0, 1, 2} <= set(np.unique(values))
    masked = pixels(engine, classes.selfMask(), [85, 25, 89, 31], 16)["c"]
    assert (masked == 0).sum() == (values == 0).sum()


def test_arithmetic_band_names_and_types(engine: Engine, client: Any) -> None:
    scene = ee.Image(LANDSAT)
    info = value(engine, scene.select(["B3", "B4"]).add(scene.select("B1")))
    assert [b["id"] for b in info["bands"]] == ["B3", "B4"]
    scaled = value(engine, scene.multiply(0.0001).select("B1"))
    assert scaled["bands"][0]["data_type"]["precision"] == "double"
    compared = value(engine, scene.select("B1").gt(50))
    assert compared["bands"][0]["data_type"]["max"] == 255


# --- Collections ------------------------------------------------------------------


def test_filter_date_bounds_and_size(engine: Engine, client: Any) -> None:
    monthly = ee.ImageCollection(MONTHLY)
    assert value(engine, monthly.size()) == 5
    summer = monthly.filterDate("2004-05-01", "2004-09-01")
    assert value(engine, summer.size()) == 3
    assert value(engine, summer.filterBounds(ee.Geometry.Point([10, 50])).size()) == 3
    may = monthly.filter(ee.Filter.calendarRange(5, 5, "month"))
    assert value(engine, may.size()) == 1
    assert value(engine, monthly.filter(ee.Filter.eq("month", 7)).size()) == 1


def test_map_and_median_composite(engine: Engine, client: Any) -> None:
    monthly = ee.ImageCollection(MONTHLY)
    scaled = monthly.map(lambda image: ee.Image(image).divide(255))
    composite = scaled.median()
    info = value(engine, composite)
    assert [b["id"] for b in info["bands"]] == ["red", "green", "blue"]
    assert info["bands"][0]["crs"] == "EPSG:4326"
    values = pixels(engine, composite, [10, 45, 12, 47], 4)["red"]
    assert values.min() >= 0.0
    assert values.max() <= 1.0


def test_mosaic_limit_sort_and_reduce(engine: Engine, client: Any) -> None:
    monthly = ee.ImageCollection(MONTHLY)
    latest = monthly.sort("system:time_start", False).limit(1)
    assert value(engine, latest.first().get("month")) == 8
    mosaic_red = pixels(engine, monthly.mosaic(), [10, 45, 12, 47], 4)["red"]
    august_red = pixels(engine, latest.first(), [10, 45, 12, 47], 4)["red"]
    assert (mosaic_red == august_red).all()
    reduced = value(engine, monthly.reduce(ee.Reducer.percentile([10, 90])))
    names = [b["id"] for b in reduced["bands"]]
    assert names[:2] == ["red_p10", "red_p90"]
    assert [b["id"] for b in value(engine, monthly.reduce(ee.Reducer.mean()))["bands"]][
        0
    ] == ("red_mean")


def test_quality_mosaic_picks_greenest(engine: Engine, client: Any) -> None:
    monthly = ee.ImageCollection(MONTHLY)
    with_quality = monthly.map(
        lambda image: ee.Image(image).addBands(
            ee.Image(image).select("green").rename("q")
        )
    )
    best = with_quality.qualityMosaic("q")
    greenest = pixels(engine, best, [10, 45, 12, 47], 4)["green"]
    for month in ("01", "03", "05", "07", "08"):
        month_green = pixels(
            engine, ee.Image(f"{MONTHLY}/2004_{month}"), [10, 45, 12, 47], 4
        )
        assert (greenest >= month_green["green"]).all()


# --- Terrain, coordinates, projections --------------------------------------------


def test_slope_steep_in_himalaya_flat_at_sea(engine: Engine, client: Any) -> None:
    slope = ee.Terrain.slope(ee.Image("NOAA/NGDC/ETOPO1").select("bedrock"))
    himalaya = pixels(engine, slope, [85, 27, 89, 29], 16)["slope"]
    assert himalaya.max() > 5
    aspect = ee.Terrain.aspect(ee.Image(SRTM))
    assert value(engine, aspect)["bands"][0]["id"] == "aspect"


def test_pixel_lon_lat_values(engine: Engine, client: Any) -> None:
    coordinates = pixels(engine, ee.Image.pixelLonLat(), [10, 40, 14, 44], 4)
    assert coordinates["longitude"][0, 0] == pytest.approx(10.5)
    assert coordinates["latitude"][0, 0] == pytest.approx(43.5)
    assert coordinates["longitude"][3, 3] == pytest.approx(13.5)


def test_reproject_coarse_gives_blocks(engine: Engine, client: Any) -> None:
    coarse = ee.Image(SRTM).reproject("EPSG:4326", None, 111319.49 * 2)
    values = pixels(engine, coarse, [80, 26, 84, 30], 8)["elevation"]
    assert (values[0:4, 0:4] == values[0, 0]).all()


def test_utm_reprojection_keeps_metres(engine: Engine, client: Any) -> None:
    srtm = ee.Image(SRTM).reproject("EPSG:32632", None, 5000)
    info = value(engine, srtm)
    assert info["bands"][0]["crs"] == "EPSG:32632"
    assert info["bands"][0]["crs_transform"][0] == 5000
    alps = pixels(engine, srtm, [7, 45.5, 8, 46.5], 8)["elevation"]
    assert alps.max() > 2000


# --- Geometry ---------------------------------------------------------------------


def test_clip_unclosed_polygon_masks_outside(engine: Engine, client: Any) -> None:
    triangle = ee.Geometry.Polygon([[[0, 0], [10, 0], [0, 10]]], None, False)
    clipped = ee.Image(1).clip(triangle)
    body = {
        "expression": encode(clipped.clipToBoundsAndScale(triangle, 10, 10)),
        "fileFormat": "PNG",
    }
    picture = png(engine, body)
    assert picture.shape == (10, 10, 2)
    assert picture[9, 0, 1] == 255
    assert picture[0, 9, 1] == 0


def test_buffer_point_bounds(engine: Engine, client: Any) -> None:
    disc = ee.Geometry.Point([0, 0]).buffer(111_319.49)
    bounds = value(engine, disc.bounds())["coordinates"][0]
    xs = [p[0] for p in bounds]
    assert min(xs) == pytest.approx(-1.0, abs=0.02)
    assert max(xs) == pytest.approx(1.0, abs=0.02)


def test_geodesic_rectangle_bulges_poleward(engine: Engine, client: Any) -> None:
    planar = ee.Geometry.Rectangle([0, 40, 60, 60], None, False)
    geodesic = ee.Geometry.Rectangle([0, 40, 60, 60], None, True)
    top_planar = max(p[1] for p in value(engine, planar.bounds())["coordinates"][0])
    top_geodesic = max(p[1] for p in value(engine, geodesic.bounds())["coordinates"][0])
    assert top_planar == pytest.approx(60)
    assert top_geodesic > 62


# --- The client's getThumbURL path ------------------------------------------------


def test_get_thumb_url_region_and_dimensions(engine: Engine, client: Any) -> None:
    body = thumbnail_body(
        client,
        ee.Image(SRTM),
        min=0,
        max=4000,
        palette=["006633", "E5FFCC", "662A00", "D8D8D8", "F5F5F5"],
        dimensions=512,
        region=[-10, 35, 30, 60],
        format="png",
    )
    picture = png(engine, body)
    assert picture.shape == (320, 512, 4)


def test_get_thumb_url_crs_and_size_string(engine: Engine, client: Any) -> None:
    region = {
        "type": "Polygon",
        "coordinates": [[[-20, 30], [40, 30], [40, 60], [-20, 60]]],
    }
    body = thumbnail_body(
        client,
        ee.Image(SRTM),
        min=0,
        max=4000,
        dimensions="512x256",
        crs="EPSG:3857",
        region=region,
        format="jpg",
    )
    data, content_type = engine.render_thumbnail(body)
    assert content_type == "image/jpeg"
    assert PILImage.open(io.BytesIO(data)).size == (512, 256)


def test_get_thumb_url_landsat_rgb_gamma(engine: Engine, client: Any) -> None:
    body = thumbnail_body(
        client,
        ee.Image(LANDSAT),
        bands=["B3", "B2", "B1"],
        min=20,
        max=120,
        gamma=1.4,
        dimensions=200,
        format="png",
    )
    picture = png(engine, body)
    assert picture.shape[2] == 3
    assert max(picture.shape[:2]) == 200


def test_resample_bilinear_smooths_blocks(engine: Engine, client: Any) -> None:
    region = [86.0, 27.5, 86.5, 28.0]
    nearest = pixels(engine, ee.Image(SRTM), region, 32)["elevation"]
    smooth = pixels(engine, ee.Image(SRTM).resample("bilinear"), region, 32)[
        "elevation"
    ]
    assert len(np.unique(smooth)) > len(np.unique(nearest))
    assert abs(float(smooth.mean()) - float(nearest.mean())) < 300


# --- Feature collections, regions and neighbourhoods -------------------------------


def test_paint_outline_and_fill(engine: Engine, client: Any) -> None:
    inner = ee.Geometry.Rectangle([7, 45, 10, 47], None, False)
    features = ee.FeatureCollection([ee.Feature(inner, {"v": 3})])
    region = [5, 44, 12, 48]
    outline = pixels(engine, ee.Image(0).paint(features, 1, 1), region, 28)["constant"]
    filled = pixels(engine, ee.Image(0).paint(features, "v"), region, 28)["constant"]
    assert outline.sum() > 0
    assert outline[12, 14] == 0
    assert filled[12, 14] == 3
    assert filled[0, 0] == 0


def test_clip_to_collection_and_geometry(engine: Engine, client: Any) -> None:
    squares = ee.FeatureCollection(
        [
            ee.Feature(ee.Geometry.Rectangle([0, 0, 1, 1], None, False)),
            ee.Feature(ee.Geometry.Rectangle([2, 0, 3, 1], None, False)),
        ]
    )
    union = value(engine, squares.geometry())
    assert union["type"] == "MultiPolygon"
    clipped = value(engine, ee.Image("NOAA/NGDC/ETOPO1").clipToCollection(squares))
    assert clipped["bands"][0]["dimensions"] == [37, 13]


def test_reduce_region_mean_and_min_max(engine: Engine, client: Any) -> None:
    srtm = ee.Image(SRTM)
    himalaya = ee.Geometry.Rectangle([85, 27, 89, 29])
    stats = value(engine, srtm.reduceRegion(ee.Reducer.minMax(), himalaya, 10000))
    assert stats["elevation_max"] > 5000
    assert stats["elevation_min"] < stats["elevation_max"]
    mean = value(engine, srtm.reduceRegion(ee.Reducer.mean(), himalaya, 10000))
    assert stats["elevation_min"] < mean["elevation"] < stats["elevation_max"]


def test_reduce_region_max_pixels(engine: Engine, client: Any) -> None:
    huge = ee.Image(SRTM).reduceRegion(
        ee.Reducer.mean(), ee.Geometry.Rectangle([-10, 35, 30, 60]), 30
    )
    with pytest.raises(EEError) as raised:
        value(engine, huge)
    assert raised.value.message.startswith(
        "Image.reduceRegion: Too many pixels in the region. Found "
    )


def test_divide_by_regional_mean(engine: Engine, client: Any) -> None:
    srtm = ee.Image(SRTM)
    alps = ee.Geometry.Rectangle([5, 44, 12, 48])
    mean = ee.Number(srtm.reduceRegion(ee.Reducer.mean(), alps, 10000).get("elevation"))
    ratio = pixels(engine, srtm.divide(mean), [5, 44, 12, 48], 16)["elevation"]
    assert 0.5 < float(np.median(ratio[ratio > 0])) < 2.0


def test_image_reduce_and_to_bands(engine: Engine, client: Any) -> None:
    scene = ee.Image(LANDSAT)
    brightest = value(engine, scene.reduce(ee.Reducer.max()))
    assert [band["id"] for band in brightest["bands"]] == ["max"]
    stacked = value(engine, ee.ImageCollection(MONTHLY).toBands())
    assert len(stacked["bands"]) == 15
    assert stacked["bands"][0]["id"] == "2004_01_red"


def test_focal_and_convolve(engine: Engine, client: Any) -> None:
    etopo = ee.Image("NOAA/NGDC/ETOPO1").select("bedrock")
    region = [5, 44, 12, 48]
    original = pixels(engine, etopo, region, 16)["bedrock"]
    smoothed = pixels(engine, etopo.focal_mean(3), region, 16)["bedrock"]
    peaks = pixels(engine, etopo.focalMax(2, "square"), region, 16)["bedrock"]
    blurred = pixels(engine, etopo.convolve(ee.Kernel.gaussian(3, 1.5)), region, 16)
    assert smoothed.std() < original.std()
    assert (peaks >= original).all()
    assert blurred["bedrock"].std() < original.std()
