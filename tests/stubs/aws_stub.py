"""Loopback AWS for the integration tests: moto's real server for STS, plus a small
IAM Identity Center portal of our own (moto does not implement the portal API).

One HTTP endpoint on 127.0.0.1 serves everything, so a test points both
AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL_SSO (and _CLOUDTRAIL) at it:

  GET /federation/credentials?account_id=A&role_name=R   the portal; needs the bearer
      token in `x-amz-sso_bearer_token`; mints credentials with moto's AssumeRole on the
      role the account/role pair maps to, so GetCallerIdentity names that account and role
  POST / with X-Amz-Target ...OPERATION                  answered from --recorded FILE
      (JSON {"OPERATION": answer}) when it holds the operation
  anything else                                          forwarded to moto

Options: --token T (the accepted bearer token), --map FILE (JSON {"ACCOUNT/ROLE":
"arn:aws:iam::X:role/Y"}; unmapped pairs become AWSReservedSSO_<ROLE>_0123456789abcdef
in ACCOUNT), --delay-ms N (before every answer), --hang (the portal never answers),
--log FILE (one JSON line per request: time, path, target, user agent).

Prints one JSON line {"url": ...} when ready, and exits when its stdin closes, so it
never outlives the test that started it.
"""

import argparse
import json
import logging
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.session
from moto.server import ThreadedMotoServer

HEX = "0123456789abcdef"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--token", required=True)
    parser.add_argument("--map")
    parser.add_argument("--recorded")
    parser.add_argument("--delay-ms", type=int, default=0)
    parser.add_argument("--hang", action="store_true")
    parser.add_argument("--log")
    args = parser.parse_args()

    role_map = {}
    if args.map:
        with open(args.map) as f:
            role_map = json.load(f)
    recorded = {}
    if args.recorded:
        with open(args.recorded) as f:
            recorded = json.load(f)

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    moto_host, moto_port = moto.get_host_and_port()
    moto_url = f"http://{moto_host}:{moto_port}"
    sts = botocore.session.Session().create_client(
        "sts",
        region_name="us-east-1",
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    log_lock = threading.Lock()
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def record(self, target):
            if not args.log:
                return
            line = json.dumps(
                {
                    "time": time.time(),
                    "method": self.command,
                    "path": self.path.split("?")[0],
                    "target": target,
                    "user_agent": self.headers.get("User-Agent", ""),
                }
            )
            with log_lock:
                with open(args.log, "a") as f:
                    f.write(line + "\n")

        def reply(self, status, body, content_type="application/json"):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def wait(self):
            if args.delay_ms:
                time.sleep(args.delay_ms / 1000)

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            self.record(None)
            if url.path != "/federation/credentials":
                return self.reply(404, {"message": "not found"})
            if args.hang:
                stop.wait()
                return
            self.wait()
            if self.headers.get("x-amz-sso_bearer_token") != args.token:
                # As the portal answers a revoked or unknown token.
                data = json.dumps({"message": "Session token not found or invalid"}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("x-amzn-ErrorType", "UnauthorizedException")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            query = urllib.parse.parse_qs(url.query)
            account = query["account_id"][0]
            role = query["role_name"][0]
            arn = role_map.get(
                f"{account}/{role}",
                f"arn:aws:iam::{account}:role/AWSReservedSSO_{role}_{HEX}",
            )
            creds = sts.assume_role(RoleArn=arn, RoleSessionName="dev@example.com")[
                "Credentials"
            ]
            self.reply(
                200,
                {
                    "roleCredentials": {
                        "accessKeyId": creds["AccessKeyId"],
                        "secretAccessKey": creds["SecretAccessKey"],
                        "sessionToken": creds["SessionToken"],
                        "expiration": int(time.time() + 3600) * 1000,
                    }
                },
            )

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            target = self.headers.get("X-Amz-Target")
            self.record(target)
            self.wait()
            operation = (target or "").rsplit(".", 1)[-1]
            if operation in recorded:
                return self.reply(
                    200,
                    json.dumps(recorded[operation]).encode(),
                    "application/x-amz-json-1.1",
                )
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in ("host", "content-length", "connection")
            }
            request = urllib.request.Request(
                moto_url + self.path, data=body, headers=headers, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    status, data = answer.status, answer.read()
                    content_type = answer.headers.get("Content-Type", "text/xml")
            except urllib.error.HTTPError as error:
                status, data = error.code, error.read()
                content_type = error.headers.get("Content-Type", "text/xml")
            self.reply(status, data, content_type)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"url": f"http://127.0.0.1:{server.server_port}"}), flush=True)
    sys.stdin.read()
    stop.set()
    server.shutdown()
    moto.stop()


if __name__ == "__main__":
    main()
