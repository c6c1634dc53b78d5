"""Time the Earth Engine stand-in's rendering of two typical thumbnails.

Usage: python bench/standin_render.py [--runs N] [--data-dir DIR]

Prints the median wall time of each render, in process, with the rasters already
loaded (the first, untimed render loads them):
- a 1024x1024 paletted elevation PNG (SRTM palette, min 0, max 4000);
- a 1024x1024 NDVI PNG of the Landsat 7 scene (B4, B3, three-colour palette).
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from standin import datasets  # noqa: E402
from standin.engine import Engine  # noqa: E402

SRTM_PALETTE = ["006633", "E5FFCC", "662A00", "D8D8D8", "F5F5F5"]


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"functionInvocationValue": {"functionName": name, "arguments": arguments}}


def const(value: Any) -> dict[str, Any]:
    return {"constantValue": value}


def rectangle(bounds: list[float]) -> dict[str, Any]:
    return call(
        "GeometryConstructors.Rectangle",
        coordinates=const(bounds),
        geodesic=const(False),
    )


def thumbnail(image: dict[str, Any], region: list[float], **vis: Any) -> dict[str, Any]:
    sized = call(
        "Image.clipToBoundsAndScale",
        input=image,
        geometry=rectangle(region),
        width=const(1024),
        height=const(1024),
    )
    node = call("Image.visualize", image=sized, **{k: const(v) for k, v in vis.items()})
    return {"expression": {"result": "0", "values": {"0": node}}, "fileFormat": "PNG"}


def elevation_body() -> dict[str, Any]:
    srtm = call("Image.load", id=const("USGS/SRTMGL1_003"))
    return thumbnail(srtm, [60, 0, 120, 50], min=0, max=4000, palette=SRTM_PALETTE)


def ndvi_body() -> dict[str, Any]:
    scene = call("Image.load", id=const("LANDSAT/LE07/C02/T1/LE07_OLINDA"))
    ndvi = call(
        "Image.normalizedDifference", input=scene, bandNames=const(["B4", "B3"])
    )
    region = [-35.0, -8.1, -34.8, -7.9]
    return thumbnail(
        ndvi, region, min=-0.5, max=0.6, palette=["blue", "white", "green"]
    )


def median_seconds(engine: Engine, body: dict[str, Any], runs: int) -> float:
    engine.render_thumbnail(body)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        engine.render_thumbnail(body)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed renders per case")
    parser.add_argument(
        "--data-dir",
        type=pathlib.Path,
        default=ROOT / ".cache" / "standin-data",
        help="directory of the installed rasters",
    )
    arguments = parser.parse_args()
    datasets.install(arguments.data_dir)
    engine = Engine(arguments.data_dir)

    for label, body in (
        ("1024x1024 paletted elevation PNG", elevation_body()),
        ("1024x1024 Landsat NDVI PNG", ndvi_body()),
    ):
        seconds = median_seconds(engine, body, arguments.runs)
        print(f"{label}: median {seconds * 1000:.1f} ms over {arguments.runs} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
