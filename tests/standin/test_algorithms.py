"""Algorithm families through the official client against `python -m standin`.

The unchanged earthengine-api client, initialized against the session's
stand-in process, builds every expression and sends it over HTTP. Values come
from `getInfo()` (value:compute) and pixels from `ee.data.computePixels` with
NUMPY_NDARRAY, which the client decodes itself. Pictures come from `getThumbURL`
and a GET of the link it returns. The checks are pixel values at known places
on real data.
"""

from __future__ import annotations

import io
from typing import Any

import ee
import numpy as np
import pytest
import requests
from PIL import Image as PILImage

from tests.standin.conftest import Fetch

SRTM = "USGS/SRTMGL1_003"
ETOPO = "NOAA/NGDC/ETOPO1"
LANDSAT = "LANDSAT/LE07/C02/T1/LE07_OLINDA"
LAND_COVER = "MODIS/061/MCD12Q1"
WATER = "MODIS/MOD44W/MOD44W_005_2000_02_24"
MONTHLY = "NASA/BLUE_MARBLE_NG/MONTHLY"
# Lon/lat boxes of 2 degrees, each inside one land cover class.
SAHARA = [10, 22, 12, 24]
AMAZON = [-63, -5, -61, -3]
PACIFIC = [-150, 0, -148, 2]
SRTM_PALETTE = ["006633", "E5FFCC", "662A00", "D8D8D8", "F5F5F5"]
# Square metres in one degree of longitude by one of latitude at the equator.
EQUATOR_DEGREE_AREA = 1.23e10


@pytest.fixture(scope="module", autouse=True)
def _connected(ee_client: Any) -> None:
    """Initialize the global `ee` module against the stand-in for this module."""


def pixels(image: ee.Image, region: list[float], size: int) -> np.ndarray:
    """Return `image` over a lon/lat box, `size` pixels a side, one field per band."""
    clipped = image.clipToBoundsAndScale(
        geometry=ee.Geometry.Rectangle(region, None, False), width=size, height=size
    )
    return native_pixels(clipped)


def native_pixels(image: ee.Image) -> np.ndarray:
    """Return `image` on its own grid, one structured-array field per band."""
    return ee.data.computePixels({"expression": image, "fileFormat": "NUMPY_NDARRAY"})


def thumbnail(fetch: Fetch, image: ee.Image, **params: Any) -> requests.Response:
    return fetch(image.getThumbURL(params))


def png(fetch: Fetch, image: ee.Image, **params: Any) -> np.ndarray:
    response = thumbnail(fetch, image, format="png", **params)
    assert response.headers["Content-Type"] == "image/png"
    return np.asarray(PILImage.open(io.BytesIO(response.content)))


def band_ids(info: dict[str, Any]) -> list[str]:
    return [band["id"] for band in info["bands"]]


# --- Elevation --------------------------------------------------------------------


def test_everest_high_mariana_deep() -> None:
    etopo = ee.Image(ETOPO).select("bedrock")
    everest = pixels(etopo, [86.5, 27.5, 87.5, 28.5], 4)["bedrock"]
    mariana = pixels(etopo, [141.5, 10.8, 142.8, 11.8], 4)["bedrock"]
    assert everest.max() > 5000
    assert mariana.min() < -8000


def test_srtm_masked_at_sea_transparent(fetch: Fetch) -> None:
    picture = png(
        fetch,
        ee.Image(SRTM),
        min=0,
        max=4000,
        palette=SRTM_PALETTE,
        dimensions="72x29",
        region=[-180, -60, 180, 85],
    )
    # One pixel is 5 degrees: row 12 is 25 N, column 38 is 10 E (the Sahara)
    # and column 6 is 150 W (the Pacific).
    assert picture.shape == (29, 72, 4)
    assert picture[12, 38, 3] == 255
    assert picture[12, 6, 3] == 0


# --- Landsat and land cover -------------------------------------------------------


def test_landsat_ndvi_sea_negative_land_positive() -> None:
    ndvi = ee.Image(LANDSAT).normalizedDifference(["B4", "B3"])
    grid = native_pixels(ndvi)["nd"]
    assert grid.shape == (352, 349)
    # The scene's east edge is the Atlantic; its north-west is forest.
    assert grid[200:300, 330:349].mean() < -0.2
    assert grid[20:120, 20:120].mean() > 0.1


def test_expression_equals_normalized_difference() -> None:
    scene = ee.Image(LANDSAT)
    by_expression = scene.expression(
        "(nir - red) / (nir + red)",
        {"nir": scene.select("B4").toFloat(), "red": scene.select("B3")},
    )
    reference = scene.normalizedDifference(["B4", "B3"])
    difference = native_pixels(by_expression.subtract(reference).abs())
    assert float(difference[difference.dtype.names[0]].max()) < 1e-5


def test_expression_ternary_and_band_function() -> None:
    flags = ee.Image(LANDSAT).expression("b('B4') > 60 ? 2 : 1")
    values = pixels(flags, [-34.9, -8.0, -34.85, -7.95], 8)
    assert set(np.unique(values[values.dtype.names[0]])) <= {0, 1, 2}


def test_land_cover_sahara_barren_amazon_forest() -> None:
    classes = ee.ImageCollection(LAND_COVER).first().select("LC_Type1")
    sahara = pixels(classes, SAHARA, 4)["LC_Type1"]
    amazon = pixels(classes, AMAZON, 4)["LC_Type1"]
    pacific = pixels(classes, PACIFIC, 4)["LC_Type1"]
    assert (sahara == 16).mean() > 0.9
    assert (amazon == 2).mean() > 0.9
    assert (pacific == 17).all()


def test_water_mask_ocean_and_land() -> None:
    water = ee.Image(WATER).select("water_mask")
    assert (pixels(water, [-40, 30, -38, 32], 4)["water_mask"] == 1).all()
    assert (pixels(water, [20, 0, 22, 2], 4)["water_mask"] == 0).all()


# --- Masks and arithmetic ---------------------------------------------------------


def test_update_mask_and_unmask() -> None:
    srtm = ee.Image(SRTM)
    high = srtm.updateMask(srtm.gt(1000)).unmask(-1)
    values = pixels(high, [85, 27, 89, 31], 8)["elevation"]
    assert (values == -1).any()
    assert (values > 1000).any()
    assert not ((values >= 0) & (values <= 1000)).any()


def test_where_self_mask_and_constant() -> None:
    srtm = ee.Image(SRTM)
    classes = ee.Image(0).where(srtm.gt(500), 1).where(srtm.gt(3000), 2).rename("c")
    values = pixels(classes, [85, 25, 89, 31], 16)["c"]
    assert {0, 1, 2} <= set(np.unique(values))
    masked = pixels(classes.selfMask(), [85, 25, 89, 31], 16)["c"]
    assert (masked == 0).sum() == (values == 0).sum()


def test_remap_masks_unlisted_classes() -> None:
    classes = ee.ImageCollection(LAND_COVER).first().select("LC_Type1")
    desert_or_forest = classes.remap([16, 2], [1, 2]).rename("kind")
    sahara = pixels(desert_or_forest, SAHARA, 4)["kind"]
    amazon = pixels(desert_or_forest, AMAZON, 4)["kind"]
    # Water (17) is not in the list, so it is masked, and NPY writes masked as 0.
    pacific = pixels(desert_or_forest, PACIFIC, 4)["kind"]
    assert (sahara == 1).mean() > 0.9
    assert (amazon == 2).mean() > 0.9
    assert (pacific == 0).all()


def test_blend_clamp_and_unit_scale() -> None:
    east = ee.Image.pixelLonLat().select("longitude").gt(2)
    blended = ee.Image(1).blend(ee.Image(2).updateMask(east))
    values = pixels(blended, [0, 0, 4, 4], 4)["constant"]
    assert (values[:, :2] == 1).all()
    assert (values[:, 2:] == 2).all()

    scaled = ee.Image(SRTM).unitScale(0, 8000).clamp(0, 1)
    everest = pixels(scaled, [86.5, 27.5, 87.5, 28.5], 4)["elevation"]
    assert 0.5 < everest.max() <= 1.0
    assert everest.min() >= 0.0


def test_arithmetic_band_names_and_types() -> None:
    scene = ee.Image(LANDSAT)
    info = scene.select(["B3", "B4"]).add(scene.select("B1")).getInfo()
    assert band_ids(info) == ["B3", "B4"]
    scaled = scene.multiply(0.0001).select("B1").getInfo()
    assert scaled["bands"][0]["data_type"]["precision"] == "double"
    compared = scene.select("B1").gt(50).getInfo()
    assert compared["bands"][0]["data_type"]["max"] == 255


# --- Collections, filters and dates -----------------------------------------------


def test_filter_date_bounds_and_size() -> None:
    monthly = ee.ImageCollection(MONTHLY)
    assert monthly.size().getInfo() == 5
    summer = monthly.filterDate("2004-05-01", "2004-09-01")
    assert summer.size().getInfo() == 3
    assert summer.filterBounds(ee.Geometry.Point([10, 50])).size().getInfo() == 3
    may = monthly.filter(ee.Filter.calendarRange(5, 5, "month"))
    assert may.size().getInfo() == 1
    assert monthly.filter(ee.Filter.eq("month", 7)).size().getInfo() == 1


def test_filter_lists_strings_and_logic() -> None:
    monthly = ee.ImageCollection(MONTHLY)
    in_list = monthly.filter(ee.Filter.inList("month", [1, 3, 4]))
    assert in_list.size().getInfo() == 2
    by_index = monthly.filter(ee.Filter.stringStartsWith("system:index", "2004_0"))
    assert by_index.size().getInfo() == 5
    assert monthly.filter(ee.Filter.eq("month", 7).Not()).size().getInfo() == 4
    july_or_winter = ee.Filter.Or(ee.Filter.eq("month", 7), ee.Filter.lt("month", 4))
    assert monthly.filter(july_or_winter).size().getInfo() == 3


def test_date_advance_and_image_date() -> None:
    march = ee.Date("2004-01-01").advance(2, "month")
    assert march.millis().getInfo() == 1078099200000
    land_cover = ee.Image(f"{LAND_COVER}/2019_01_01")
    assert land_cover.date().millis().getInfo() == 1546300800000
    assert land_cover.get("system:time_start").getInfo() == 1546300800000


def test_map_and_median_composite() -> None:
    monthly = ee.ImageCollection(MONTHLY)
    scaled = monthly.map(lambda image: ee.Image(image).divide(255))
    composite = scaled.median()
    info = composite.getInfo()
    assert band_ids(info) == ["red", "green", "blue"]
    assert info["bands"][0]["crs"] == "EPSG:4326"
    values = pixels(composite, [10, 45, 12, 47], 4)["red"]
    assert values.min() >= 0.0
    assert values.max() <= 1.0


def test_mosaic_limit_sort_and_reduce() -> None:
    monthly = ee.ImageCollection(MONTHLY)
    latest = monthly.sort("system:time_start", False).limit(1)
    assert latest.first().get("month").getInfo() == 8
    mosaic_red = pixels(monthly.mosaic(), [10, 45, 12, 47], 4)["red"]
    august_red = pixels(latest.first(), [10, 45, 12, 47], 4)["red"]
    assert (mosaic_red == august_red).all()
    percentiles = monthly.reduce(ee.Reducer.percentile([10, 90])).getInfo()
    assert band_ids(percentiles)[:2] == ["red_p10", "red_p90"]
    means = monthly.reduce(ee.Reducer.mean()).getInfo()
    assert band_ids(means)[0] == "red_mean"


def test_quality_mosaic_picks_greenest() -> None:
    monthly = ee.ImageCollection(MONTHLY)
    with_quality = monthly.map(
        lambda image: ee.Image(image).addBands(
            ee.Image(image).select("green").rename("q")
        )
    )
    greenest = pixels(with_quality.qualityMosaic("q"), [10, 45, 12, 47], 4)["green"]
    for month in ("01", "03", "05", "07", "08"):
        month_image = ee.Image(f"{MONTHLY}/2004_{month}")
        month_green = pixels(month_image, [10, 45, 12, 47], 4)["green"]
        assert (greenest >= month_green).all(), month


# --- Terrain, coordinates, projections --------------------------------------------


def test_slope_steep_in_himalaya() -> None:
    slope = ee.Terrain.slope(ee.Image(ETOPO).select("bedrock"))
    himalaya = pixels(slope, [85, 27, 89, 29], 16)["slope"]
    assert himalaya.max() > 5
    aspect = ee.Terrain.aspect(ee.Image(SRTM))
    assert band_ids(aspect.getInfo()) == ["aspect"]


def test_hillshade_varies_in_himalaya() -> None:
    shaded = ee.Terrain.hillshade(ee.Image(ETOPO).select("bedrock"))
    values = pixels(shaded, [85, 27, 89, 29], 8)["hillshade"]
    assert band_ids(shaded.getInfo()) == ["hillshade"]
    assert values.dtype == np.uint8
    assert values.min() < values.max()


def test_pixel_lon_lat_values() -> None:
    coordinates = pixels(ee.Image.pixelLonLat(), [10, 40, 14, 44], 4)
    assert coordinates["longitude"][0, 0] == pytest.approx(10.5)
    assert coordinates["latitude"][0, 0] == pytest.approx(43.5)
    assert coordinates["longitude"][3, 3] == pytest.approx(13.5)


def test_pixel_area_at_equator() -> None:
    areas = pixels(ee.Image.pixelArea(), [0, 0, 4, 4], 4)["area"]
    assert areas[3, 0] == pytest.approx(EQUATOR_DEGREE_AREA, rel=0.01)
    # Pixels shrink towards the poles: row 0 is the northernmost.
    assert areas[0, 0] < areas[3, 0]


def test_reproject_coarse_gives_blocks() -> None:
    coarse = ee.Image(SRTM).reproject("EPSG:4326", None, 111319.49 * 2)
    values = pixels(coarse, [80, 26, 84, 30], 8)["elevation"]
    assert (values[0:4, 0:4] == values[0, 0]).all()


def test_utm_reprojection_keeps_metres() -> None:
    srtm = ee.Image(SRTM).reproject("EPSG:32632", None, 5000)
    info = srtm.getInfo()
    assert info["bands"][0]["crs"] == "EPSG:32632"
    assert info["bands"][0]["crs_transform"][0] == 5000
    alps = pixels(srtm, [7, 45.5, 8, 46.5], 8)["elevation"]
    assert alps.max() > 2000


def test_resample_bilinear_smooths_blocks() -> None:
    region = [86.0, 27.5, 86.5, 28.0]
    nearest = pixels(ee.Image(SRTM), region, 32)["elevation"]
    smooth = pixels(ee.Image(SRTM).resample("bilinear"), region, 32)["elevation"]
    assert len(np.unique(smooth)) > len(np.unique(nearest))
    assert abs(float(smooth.mean()) - float(nearest.mean())) < 300


# --- Geometry ---------------------------------------------------------------------


def test_clip_unclosed_polygon_masks_outside(fetch: Fetch) -> None:
    triangle = ee.Geometry.Polygon([[[0, 0], [10, 0], [0, 10]]], None, False)
    picture = png(
        fetch, ee.Image(1).clip(triangle), dimensions="10x10", region=triangle
    )
    assert picture.shape == (10, 10, 2)
    assert picture[9, 0, 1] == 255
    assert picture[0, 9, 1] == 0


def test_buffer_point_bounds() -> None:
    disc = ee.Geometry.Point([0, 0]).buffer(111_319.49)
    xs = [point[0] for point in disc.bounds().getInfo()["coordinates"][0]]
    assert min(xs) == pytest.approx(-1.0, abs=0.02)
    assert max(xs) == pytest.approx(1.0, abs=0.02)


def test_geodesic_rectangle_bulges_poleward() -> None:
    planar = ee.Geometry.Rectangle([0, 40, 60, 60], None, False)
    geodesic = ee.Geometry.Rectangle([0, 40, 60, 60], None, True)
    top_planar = max(p[1] for p in planar.bounds().getInfo()["coordinates"][0])
    top_geodesic = max(p[1] for p in geodesic.bounds().getInfo()["coordinates"][0])
    assert top_planar == pytest.approx(60)
    assert top_geodesic > 62


def test_geometry_area_centroid_intersects() -> None:
    square = ee.Geometry.Rectangle([0, 0, 2, 2], None, False)
    assert square.area().getInfo() == pytest.approx(4 * EQUATOR_DEGREE_AREA, rel=0.01)
    assert square.centroid().getInfo()["coordinates"] == pytest.approx([1.0, 1.0])
    assert ee.Geometry.Point([0.5, 0.5]).intersects(square).getInfo() is True
    assert ee.Geometry.Point([3, 3]).intersects(square).getInfo() is False


def test_rectangle_in_pixel_projection() -> None:
    """A Rectangle in `image.projection()` is measured in that image's pixels."""
    srtm = ee.Image(SRTM)
    first_pixels = ee.Geometry.Rectangle([0, 0, 3, 2], srtm.projection(), False)
    bounds = first_pixels.bounds().getInfo()["coordinates"][0]
    assert min(p[0] for p in bounds) == pytest.approx(-180 - 1 / 24)
    assert max(p[0] for p in bounds) == pytest.approx(-180 - 1 / 24 + 3 / 12)
    assert max(p[1] for p in bounds) == pytest.approx(90 + 1 / 24)
    assert min(p[1] for p in bounds) == pytest.approx(90 + 1 / 24 - 2 / 12)


# --- The client's getThumbURL path ------------------------------------------------


def test_thumb_url_region_and_dimensions(fetch: Fetch) -> None:
    picture = png(
        fetch,
        ee.Image(SRTM),
        min=0,
        max=4000,
        palette=SRTM_PALETTE,
        dimensions=512,
        region=[-10, 35, 30, 60],
    )
    assert picture.shape == (320, 512, 4)


def test_thumb_url_crs_and_size_string(fetch: Fetch) -> None:
    region = {
        "type": "Polygon",
        "coordinates": [[[-20, 30], [40, 30], [40, 60], [-20, 60]]],
    }
    response = thumbnail(
        fetch,
        ee.Image(SRTM),
        min=0,
        max=4000,
        dimensions="512x256",
        crs="EPSG:3857",
        region=region,
        format="jpg",
    )
    assert response.headers["Content-Type"] == "image/jpeg"
    assert PILImage.open(io.BytesIO(response.content)).size == (512, 256)


def test_thumb_url_landsat_rgb_gamma(fetch: Fetch) -> None:
    picture = png(
        fetch,
        ee.Image(LANDSAT),
        bands=["B3", "B2", "B1"],
        min=20,
        max=120,
        gamma=1.4,
        dimensions=200,
    )
    assert picture.shape[2] == 3
    assert max(picture.shape[:2]) == 200


def test_thumb_url_grey_everest_bright_ganges_dark(fetch: Fetch) -> None:
    picture = png(
        fetch,
        ee.Image(ETOPO).select("bedrock"),
        min=0,
        max=8000,
        dimensions="120x60",
        region=[80, 25, 90, 30],
    )
    # One pixel is 5 arc-minutes from 80 E, 30 N: Everest (86.9 E, 28.0 N) is
    # row 24, column 83, and the Ganges plain at 85 E, 25.5 N is row 54, column 60.
    # Grey level 255 is 8000 m.
    assert picture.shape == (60, 120)
    assert picture[24, 83] > 5000 / 8000 * 255
    assert picture[54, 60] < 300 / 8000 * 255


# --- Feature collections, regions and neighbourhoods -------------------------------


def test_paint_outline_and_fill() -> None:
    inner = ee.Geometry.Rectangle([7, 45, 10, 47], None, False)
    features = ee.FeatureCollection([ee.Feature(inner, {"v": 3})])
    region = [5, 44, 12, 48]
    outline = pixels(ee.Image(0).paint(features, 1, 1), region, 28)["constant"]
    filled = pixels(ee.Image(0).paint(features, "v"), region, 28)["constant"]
    assert outline.sum() > 0
    assert outline[12, 14] == 0
    assert filled[12, 14] == 3
    assert filled[0, 0] == 0


def test_clip_to_collection_and_geometry() -> None:
    squares = ee.FeatureCollection(
        [
            ee.Feature(ee.Geometry.Rectangle([0, 0, 1, 1], None, False)),
            ee.Feature(ee.Geometry.Rectangle([2, 0, 3, 1], None, False)),
        ]
    )
    assert squares.geometry().getInfo()["type"] == "MultiPolygon"
    clipped = ee.Image(ETOPO).clipToCollection(squares).getInfo()
    assert clipped["bands"][0]["dimensions"] == [37, 13]


def test_reduce_region_mean_and_min_max() -> None:
    srtm = ee.Image(SRTM)
    himalaya = ee.Geometry.Rectangle([85, 27, 89, 29])
    stats = srtm.reduceRegion(ee.Reducer.minMax(), himalaya, 10000).getInfo()
    assert stats["elevation_max"] > 5000
    assert stats["elevation_min"] < stats["elevation_max"]
    mean = srtm.reduceRegion(ee.Reducer.mean(), himalaya, 10000).getInfo()
    assert stats["elevation_min"] < mean["elevation"] < stats["elevation_max"]


def test_reduce_region_max_pixels() -> None:
    huge = ee.Image(SRTM).reduceRegion(
        ee.Reducer.mean(), ee.Geometry.Rectangle([-10, 35, 30, 60]), 30
    )
    with pytest.raises(ee.EEException) as raised:
        huge.getInfo()
    assert str(raised.value).startswith(
        "Image.reduceRegion: Too many pixels in the region. Found "
    )


def test_divide_by_regional_mean() -> None:
    srtm = ee.Image(SRTM)
    alps = ee.Geometry.Rectangle([5, 44, 12, 48])
    mean = ee.Number(srtm.reduceRegion(ee.Reducer.mean(), alps, 10000).get("elevation"))
    ratio = pixels(srtm.divide(mean), [5, 44, 12, 48], 16)["elevation"]
    assert 0.5 < float(np.median(ratio[ratio > 0])) < 2.0


def test_image_reduce_and_to_bands() -> None:
    brightest = ee.Image(LANDSAT).reduce(ee.Reducer.max()).getInfo()
    assert band_ids(brightest) == ["max"]
    stacked = ee.ImageCollection(MONTHLY).toBands().getInfo()
    assert len(stacked["bands"]) == 15
    assert stacked["bands"][0]["id"] == "2004_01_red"


def test_focal_and_convolve() -> None:
    etopo = ee.Image(ETOPO).select("bedrock")
    region = [5, 44, 12, 48]
    original = pixels(etopo, region, 16)["bedrock"]
    smoothed = pixels(etopo.focal_mean(3), region, 16)["bedrock"]
    peaks = pixels(etopo.focalMax(2, "square"), region, 16)["bedrock"]
    blurred = pixels(etopo.convolve(ee.Kernel.gaussian(3, 1.5)), region, 16)
    assert smoothed.std() < original.std()
    assert (peaks >= original).all()
    assert blurred["bedrock"].std() < original.std()
