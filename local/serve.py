"""Run the local stand-ins and the HTTP function until interrupted (`make serve`)."""

from __future__ import annotations

import os
import time

from local import stack


def main() -> None:
    with stack.running(
        function_port=int(os.environ.get("FUNCTION_PORT", "8080")),
        ee_port=int(os.environ.get("STANDIN_PORT", "8081")),
        gcs_port=int(os.environ.get("GCS_PORT", "4443")),
        STARTUP_CHECK="true",
    ) as running:
        print(f"HTTP function      {running.function_url}")
        print(f"Earth Engine       {running.ee_url}")
        print(f"Cloud Storage      {running.gcs_url}")
        print(f"Logs               {stack.LOG_DIR}")
        print("Press Ctrl+C to stop.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("Stopping.")


if __name__ == "__main__":
    main()
