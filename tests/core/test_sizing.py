"""Output estimates and the size limits checked before Earth Engine is called."""

from __future__ import annotations

import pytest

from eerender.config import Settings
from eerender.errors import InvalidRequest
from eerender.region import parse_region
from eerender.sizing import (
    GridRequest,
    OutputEstimate,
    check_bands,
    check_output,
    check_side,
    grid_size,
    suggest_dimensions,
)

SETTINGS = Settings(ee_project="p")
F01_REGION = parse_region([-123.2, 36.7, -120.6, 38.6], "/region")


def test_scale_over_degrees_uses_nominal_metres() -> None:
    size = grid_size(GridRequest(region=F01_REGION, crs="EPSG:4326", scale=30))

    assert size == (9648, 7050, True)


def test_scale_in_native_projection_is_estimate() -> None:
    size = grid_size(GridRequest(region=F01_REGION, scale=30))

    assert size == (9648, 7050, False)


def test_max_dimension_follows_region_aspect() -> None:
    wide = parse_region([0, 0, 4, 1], "/region")
    tall = parse_region([0, 0, 1, 4], "/region")

    assert grid_size(GridRequest(region=wide, max_dimension=512)) == (512, 128, False)
    assert grid_size(GridRequest(region=tall, max_dimension=512)) == (128, 512, False)


def test_web_mercator_extent_stretches_latitude() -> None:
    box = parse_region([0, 60, 10, 70], "/region")

    width, height, exact = grid_size(
        GridRequest(region=box, crs="EPSG:3857", scale=1000)
    ) or (0, 0, False)

    assert (width, exact) == (1113, True)
    assert height == 2669


def test_width_and_height_are_exact() -> None:
    assert grid_size(GridRequest(width=640, height=320)) == (640, 320, True)


def test_crs_transform_pixel_size() -> None:
    box = parse_region([0, 0, 1, 0.5], "/region")
    transform = (0.01, 0, 0, 0, -0.01, 0)

    size = grid_size(GridRequest(region=box, crs="EPSG:4326", crs_transform=transform))

    assert size == (100, 50, True)


def test_unknown_footprint_has_no_estimate() -> None:
    assert grid_size(GridRequest(max_dimension=512)) is None
    assert grid_size(GridRequest(scale=30)) is None


def test_over_bytes_rejected_with_fitting_suggestion() -> None:
    estimate = OutputEstimate(9648, 7050, 3, 1, exact=True)

    with pytest.raises(InvalidRequest) as caught:
        check_output(estimate, SETTINGS, "/scale")

    error = caught.value
    suggestion = suggest_dimensions(estimate, SETTINGS)
    assert error.code == "REQUEST_TOO_LARGE"
    assert error.field == "/scale"
    assert error.limit == SETTINGS.max_output_bytes
    assert "9648 x 7050 pixels x 3 band(s) x 1 byte(s)" in error.message
    assert "204,055,200 bytes" in error.message
    assert f'"dimensions": {suggestion}' in error.message
    short = round(suggestion * 7050 / 9648)
    assert suggestion * short * 3 <= SETTINGS.max_output_bytes
    assert (suggestion + 1) * round((suggestion + 1) * 7050 / 9648) * 3 > (
        SETTINGS.max_output_bytes
    )


def test_over_grid_side_rejected() -> None:
    estimate = OutputEstimate(1_335_834, 445_278, 3, 1, exact=False)

    with pytest.raises(InvalidRequest) as caught:
        check_output(estimate, SETTINGS, "/scale")

    assert caught.value.code == "DIMENSIONS_TOO_LARGE"
    assert caught.value.limit == 32768
    assert "about 1335834 x 445278" in caught.value.message
    assert caught.value.value == "1335834x445278"


def test_unknown_bands_checked_as_lower_bound() -> None:
    fits = OutputEstimate(7000, 7000, None, None, exact=True)
    too_big = OutputEstimate(8000, 8000, None, None, exact=True)

    check_output(fits, SETTINGS, "/dimensions")
    with pytest.raises(InvalidRequest) as caught:
        check_output(too_big, SETTINGS, "/dimensions")

    assert fits.bytes is None
    assert caught.value.code == "REQUEST_TOO_LARGE"
    assert "unknown bands" in caught.value.message


def test_side_and_band_limits() -> None:
    check_side(32768, SETTINGS, "/dimensions")
    with pytest.raises(InvalidRequest) as side:
        check_side(32769, SETTINGS, "/dimensions")
    with pytest.raises(InvalidRequest) as bands:
        check_bands(1025, SETTINGS, "/bandIds")

    assert side.value.code == "DIMENSIONS_TOO_LARGE"
    assert "32769" in side.value.message
    assert bands.value.code == "TOO_MANY_BANDS"
    assert bands.value.limit == 1024
