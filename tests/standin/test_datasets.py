"""Tests of the installed rasters: idempotent install and the converted arrays."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from standin import datasets
from tests.standin.test_engine import DATA_DIR, shared_engine


def test_second_install_does_nothing() -> None:
    shared_engine()
    assert datasets.install(DATA_DIR) == []
    assert datasets.missing_products(DATA_DIR) == []


def test_cli_reports_nothing_to_do() -> None:
    shared_engine()
    result = subprocess.run(
        [sys.executable, "-m", "standin.datasets", "install", "--dir", str(DATA_DIR)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert result.stdout.startswith("nothing to do")


def test_manifest_lists_every_product() -> None:
    shared_engine()
    manifest = json.loads((DATA_DIR / datasets.MANIFEST).read_text())["products"]
    assert set(manifest) == {product.name for product in datasets.PRODUCTS}
    assert "apt:ferret-datasets" in manifest["elevation"]["sources"]


def test_etopo5_north_up_in_metres() -> None:
    etopo = shared_engine().catalog.raster(datasets.ETOPO5)
    assert etopo.shape == (2161, 4320)
    assert etopo.dtype == np.int16
    # Row 12 * (90 - 28) is 28 N; column 12 * (180 + 87) is 87 E, near Everest.
    assert etopo[12 * 62, 12 * 267] > 4000
    assert etopo.min() < -10000


def test_srtm_footprint_stops_at_60_north() -> None:
    valid = shared_engine().catalog.raster(datasets.SRTM_VALID)
    assert not valid[: 12 * 29].any()
    assert valid[12 * 40].any()


def test_land_cover_water_recoded_to_17() -> None:
    classes = shared_engine().catalog.raster(datasets.LAND_COVER)
    values = set(np.unique(classes).tolist())
    assert 0 not in values
    assert {1, 2, 16, 17} <= values


def test_landsat_bands_first() -> None:
    scene = shared_engine().catalog.raster(datasets.LANDSAT_OLINDA)
    assert scene.shape == (6, 352, 349)
    assert scene.dtype == np.uint8
