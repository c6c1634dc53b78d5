"""Run the Earth Engine stand-in with the socket settings of a production front end.

    python -m bench.standin_server --port 8081 --data-dir .cache/standin-data

The stand-in as shipped has two socket settings that add waits no Earth Engine front
end has, and latency benchmarks would measure those waits instead of the product:

- It writes a response's headers and body in two sends on a socket without
  TCP_NODELAY. On a keep-alive connection the kernel delays the body until the client
  acknowledges the headers, and Linux delays that acknowledgement by up to 40 ms, so
  every response after a connection's first took about 40 ms longer.
- It listens with socketserver's backlog of 5, so when 32 connections open at once
  the kernel drops SYNs and their clients wait a 1 s retransmission.

Both are set here, for this process only; the evaluation is the stand-in's own.
"""

from __future__ import annotations

import http.server

from standin import __main__ as standin_main
from standin.server import RequestHandler

# TODO: drop these two lines once standin/server.py sets them itself.
RequestHandler.disable_nagle_algorithm = True
http.server.ThreadingHTTPServer.request_queue_size = 128

if __name__ == "__main__":
    standin_main.main()
