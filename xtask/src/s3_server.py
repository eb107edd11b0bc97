"""A local S3 for the registry-server tests and benchmark: moto's S3, served
on a free loopback port. Started by xtask (xtask/src/s3.rs) with the Python
of a venv that has moto[server] installed.

Usage: python s3_server.py BUCKET
Prints "s3 listening on http://127.0.0.1:PORT" once BUCKET exists.

Single-threaded on purpose. moto checks a PUT's If-Match / If-None-Match
and then stores the object as two steps with no lock between them
(moto/s3/responses.py, put_object), so under its usual threaded server
(`moto_server`) two conditional writes to one key could in principle both
succeed, a lost update real S3 never allows. The window is small (16
racing If-Match writers, 30 rounds: never seen), but a test of the
registry's compare-and-swap must not pass or fail by luck: serving one
request at a time makes each check-and-write atomic, as it is on S3.
Werkzeug then speaks HTTP/1.0 (a connection per request), which costs
little on loopback.
"""

import sys
import threading

import boto3
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


def main() -> None:
    bucket = sys.argv[1]
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(
        "127.0.0.1", 0, app, threaded=False, request_handler=MotoRequestHandler
    )
    url = f"http://127.0.0.1:{server.server_port}"

    def create_bucket_and_announce() -> None:
        # Through the server itself (moto accepts any credentials), once it serves.
        s3 = boto3.client(
            "s3",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        s3.create_bucket(Bucket=bucket)
        print(f"s3 listening on {url}", flush=True)

    threading.Thread(target=create_bucket_and_announce, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
