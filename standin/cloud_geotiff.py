"""Read GeoTIFFs from a Cloud Storage emulator for `Image.loadGeoTIFF('gs://b/o')`.

The emulator's base URL comes from STORAGE_EMULATOR_HOST (the variable the
Cloud Storage client libraries read), for example fake-gcs-server's
`http://127.0.0.1:4443`. Objects are cached by URI and generation, so a
rewritten object is read again.
"""

from __future__ import annotations

import io
import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from http import HTTPStatus

import numpy as np
import tifffile

from standin.catalog import BandSpec, Catalog, ImageAsset
from standin.errors import invalid_argument
from standin.projection import Affine, canonical_crs

logger = logging.getLogger(__name__)

NAME = "Image.loadGeoTIFF"
EMULATOR_VARIABLE = "STORAGE_EMULATOR_HOST"
REQUEST_TIMEOUT_SECONDS = 30


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("gs://") or "/" not in uri[5:]:
        raise invalid_argument(
            f"{NAME}: Invalid Cloud Storage URI '{uri}'; use gs://bucket/object."
        )
    bucket, _, name = uri[5:].partition("/")
    return bucket, name


def _emulator_url() -> str:
    host = os.environ.get(EMULATOR_VARIABLE, "").rstrip("/")
    if not host:
        raise invalid_argument(
            f"{NAME}: {EMULATOR_VARIABLE} is not set, so gs:// objects cannot be read. "
            "Point it at the Cloud Storage emulator, e.g. http://127.0.0.1:4443."
        )
    return host if "://" in host else f"http://{host}"


def _get(url: str, uri: str) -> bytes:
    logger.debug("GET %s", url)
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT_SECONDS) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as error:
        if error.code == HTTPStatus.NOT_FOUND:
            raise invalid_argument(f"{NAME}: Object '{uri}' not found.") from error
        raise invalid_argument(
            f"{NAME}: Reading '{uri}' failed: HTTP {error.code}."
        ) from error
    except urllib.error.URLError as error:
        raise invalid_argument(
            f"{NAME}: Reading '{uri}' failed: {error.reason}."
        ) from error


def _object_url(uri: str) -> str:
    bucket, name = split_uri(uri)
    quoted = urllib.parse.quote(name, safe="")
    return f"{_emulator_url()}/storage/v1/b/{urllib.parse.quote(bucket)}/o/{quoted}"


def _georeference(page: tifffile.TiffPage, uri: str) -> tuple[str, Affine]:
    tags = page.geotiff_tags or {}
    code = tags.get("ProjectedCSTypeGeoKey") or tags.get("GeographicTypeGeoKey")
    if code is None:
        raise invalid_argument(f"{NAME}: '{uri}' has no EPSG code in its GeoKeys.")
    crs = canonical_crs(f"EPSG:{int(code)}")
    if "ModelTransformation" in tags:
        matrix = np.asarray(tags["ModelTransformation"], dtype=np.float64).reshape(4, 4)
        transform = (
            matrix[0, 0],
            matrix[0, 1],
            matrix[0, 3],
            matrix[1, 0],
            matrix[1, 1],
            matrix[1, 3],
        )
        return crs, tuple(float(v) for v in transform)  # type: ignore[return-value]
    scale = tags.get("ModelPixelScale")
    tiepoint = tags.get("ModelTiepoint")
    if scale is None or tiepoint is None:
        raise invalid_argument(f"{NAME}: '{uri}' has no georeference tags.")
    i, j, _, x, y, _ = (float(v) for v in tiepoint[:6])
    sx, sy = float(scale[0]), float(scale[1])
    return crs, (sx, 0.0, x - i * sx, 0.0, -sy, y + j * sy)


def _bands_first(array: np.ndarray, page: tifffile.TiffPage) -> np.ndarray:
    if array.ndim == 2:
        return array[None]
    if page.planarconfig == tifffile.PLANARCONFIG.CONTIG:
        return np.moveaxis(array, -1, 0)
    return array


def load_geotiff_asset(catalog: Catalog, uri: str) -> ImageAsset:
    """Fetch the object (once per generation) and describe it as an image asset."""
    metadata = json.loads(_get(_object_url(uri), uri))
    key = f"{uri}#{metadata.get('generation', '')}"
    with tifffile.TiffFile(
        io.BytesIO(_get(_object_url(uri) + "?alt=media", uri))
    ) as tiff:
        page = tiff.pages.first
        crs, transform = _georeference(page, uri)
        data = _bands_first(tiff.asarray(), page)
    catalog.store(key, data)
    bands = tuple(
        BandSpec(f"B{index}", key, str(data.dtype), index=index)
        for index in range(data.shape[0])
    )
    return ImageAsset(
        uri,
        bands,
        crs,
        transform,
        data.shape[2],
        data.shape[1],
        source=f"GeoTIFF {uri}",
    )
