"""moto_server, with DynamoDB's requests served one at a time.

moto serves each request on a thread of its own and does not lock its DynamoDB tables: a conditional
write checks its condition and writes in two steps, and a new item is put with its keys before its
attributes are set. Two functions claiming the same try could then both succeed, and a query could
read half an item, where DynamoDB itself is atomic. Serializing DynamoDB's requests (not SQS's long
polls, nor anything else) gives the emulator DynamoDB's atomicity. Without moto importable here, this
runs the moto_server command as it is.
"""

import os
import sys
import threading

try:
    import moto.server as server
except ImportError:
    os.execvp("moto_server", ["moto_server", *sys.argv[1:]])

serve = server.run_simple


def run_serialized(host, port, app, **options):
    lock = threading.Lock()

    def serialized(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with lock:
                return list(app(environ, start_response))
        return app(environ, start_response)

    serve(host, port, serialized, **options)


server.run_simple = run_serialized
server.main(sys.argv[1:])
