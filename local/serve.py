"""Run the local stand-ins and every function until interrupted (`make serve`)."""

from __future__ import annotations

import os
import signal
import time
from types import FrameType

from local import stack


def _stop(signum: int, frame: FrameType | None) -> None:
    # SIGTERM (from kill or a supervisor) stops the children too, as Ctrl+C does.
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    with stack.running(
        function_port=int(os.environ.get("FUNCTION_PORT", "8080")),
        ee_port=int(os.environ.get("STANDIN_PORT", "8081")),
        gcs_port=int(os.environ.get("GCS_PORT", "4443")),
        chat=True,
        STARTUP_CHECK="true",
    ) as running:
        print(f"HTTP function      {running.function_url}")
        print(f"Pub/Sub function   {running.pubsub_function_url}")
        print(f"Storage function   {running.storage_function_url}")
        print(f"Slack function     {running.slack_function_url}")
        print(f"Chat function      {running.chat_function_url}")
        print(f"Earth Engine       {running.ee_url}")
        print(f"Cloud Storage      {running.gcs_url}")
        print(f"Pub/Sub            {running.pubsub_url}")
        print(f"Chat recorder      {running.chat_standin_url}")
        print(f"Logs               {stack.LOG_DIR}")
        print("Press Ctrl+C to stop.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("Stopping.")


if __name__ == "__main__":
    main()
