"""Load benchmark for the chat server (`make bench` runs `python -m bench`).

The harness runs the same scenarios against a bare python-socketio broadcast
server (the *yardstick*, `bench.yardstick_server`) and against our server, so
the figures for ours read as a ratio to what the framework alone can do on
this machine rather than as absolute numbers that depend on the hardware.

Modules:
    wire             Engine.IO v4 / Socket.IO v5 text packets (no library).
    lean_client      a minimal Socket.IO client over aiohttp's websocket.
    sio_client       the same interface over python-socketio's AsyncClient.
    procstats        /proc readers: RSS, peak RSS, CPU time, CPU pinning.
    stats            percentiles and the per-run metric accumulators.
    loadgen          the load-generator process (one plan in, one JSON out).
    yardstick_server the bare broadcast server.
    targets          start/stop a server under test and provision its users.
    report           the comparison table and the JSON results file.
"""
