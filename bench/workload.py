"""The render requests the benchmarks send, and the sizes they are built to give."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from eerender.config import Settings
from eerender.request import parse_render_request
from local import stack
from local.demo import ELEVATION

MIB = 1 << 20
# Earth Engine's largest grid side; the stand-in and the product use the same limit.
MAX_GRID_SIDE = 32768
# A band name long enough that the NPY header is 192 bytes for every grid benchmarked
# here; 4, 16 and 48 MiB minus a 128-byte header have no factors both at most 32768.
NPY_BAND = "ones_sized_for_exact_npy_bytes"
ELEVATION_PALETTE = ["006633", "E5FFCC", "662A00", "D8D8D8", "F5F5F5"]


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"functionInvocationValue": {"functionName": name, "arguments": arguments}}


def const(value: Any) -> dict[str, Any]:
    return {"constantValue": value}


def expression(node: dict[str, Any]) -> dict[str, Any]:
    return {"result": "0", "values": {"0": node}}


def elevation_request(dimensions: str = "256x256") -> dict[str, Any]:
    """Return a paletted SRTM PNG request of the Himalaya, as an ``<img src>`` sends."""
    return {
        "expression": ELEVATION,
        "region": [70, 20, 100, 40],
        "dimensions": dimensions,
        "min": 0,
        "max": 6000,
        "palette": ELEVATION_PALETTE,
        "format": "png",
    }


def npy_header_bytes(band: str, width: int, height: int) -> int:
    """Return the length of the NPY header the stand-in writes for one uint8 band."""
    buffer = io.BytesIO()
    descr = np.lib.format.dtype_to_descr(np.dtype([(band, "<u1")]))
    header = {"descr": descr, "fortran_order": False, "shape": (height, width)}
    np.lib.format.write_array_header_1_0(buffer, header)
    return len(buffer.getvalue())


def npy_grid(total_bytes: int, band: str = NPY_BAND) -> tuple[int, int]:
    """Return the most nearly square (width, height) whose NPY file is ``total_bytes``.

    Raises:
        ValueError: when no grid within MAX_GRID_SIDE gives exactly that size.
    """
    for header in range(64, 1024, 64):  # numpy pads the header to 64 bytes
        pixels = total_bytes - header
        grid = _square_factors(pixels)
        if grid and npy_header_bytes(band, *grid) == header:
            return grid
    raise ValueError(f"no uint8 grid gives an NPY file of exactly {total_bytes} bytes")


def _square_factors(pixels: int) -> tuple[int, int] | None:
    for width in range(math.isqrt(pixels), 0, -1):
        if pixels % width == 0:
            height = pixels // width
            if max(width, height) > MAX_GRID_SIDE:
                return None
            return width, height
    return None


def npy_store_request(total_bytes: int, tag: int = 0) -> dict[str, Any]:
    """Return a store request for an NPY of ones that is exactly ``total_bytes`` long.

    ``tag`` shifts the region by a micro-degree, so each tag names a new object.
    """
    width, height = npy_grid(total_bytes)
    ones = call("Image.toUint8", value=call("Image.constant", value=const(1)))
    named = call("Image.rename", input=ones, names=const([NPY_BAND]))
    return {
        "expression": expression(named),
        "region": [0, 0, 10, 10 + tag * 1e-6],
        "dimensions": f"{width}x{height}",
        "format": "npy",
        "delivery": "store",
    }


def local_settings(ee_url: str, gcs_url: str, **overrides: str) -> Settings:
    """Return the settings a function on the local stack reads."""
    return Settings.from_environ(stack.function_env(ee_url, gcs_url, **overrides))


def thumbnail_body(request: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Return the exact thumbnails.create body the function sends for ``request``."""
    return parse_render_request(dict(request), settings).thumbnail_body()
