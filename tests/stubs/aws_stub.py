"""Loopback AWS for the integration tests: moto's real server for STS, plus a small
IAM Identity Center portal of our own (moto does not implement the portal API).

One HTTP endpoint on 127.0.0.1 serves everything, so a test points both
AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL_SSO (and _CLOUDTRAIL) at it:

  GET /assignment/accounts, GET /assignment/roles         the portal's lists, paginated
      (--accounts FILE: JSON [{"accountId", "accountName", "roles": [...]}], or
      --generate N: N accounts with the roles KiroReadOnly and KiroWrite), at most
      --page-cap items a page; --fail-account ID answers 500 for that account's roles
  POST /client/register, /device_authorization, /token   IAM Identity Center OIDC: the
      device flow answers `authorization_pending`, then `slow_down`, then the token
      (--oidc-script), and a refresh_token grant mints a new accepted token
  GET /federation/credentials?account_id=A&role_name=R   the portal; needs the bearer
      token in `x-amz-sso_bearer_token`; mints credentials with moto's AssumeRole on the
      role the account/role pair maps to, so GetCallerIdentity names that account and role
  POST / with X-Amz-Target ...OPERATION                  answered from --recorded FILE
      (JSON {"OPERATION": answer}) when it holds the operation
  anything else                                          forwarded to moto

Options: --token T (the accepted bearer token), --map FILE (JSON {"ACCOUNT/ROLE":
"arn:aws:iam::X:role/Y"}; unmapped pairs become AWSReservedSSO_<ROLE>_0123456789abcdef
in ACCOUNT), --delay-ms N (before every answer), --hang (the portal never answers),
--log FILE (one JSON line per request: time, path, target, user agent),
--loop-pages (every page names the same next page, for ever),
--rate-limit R (the portal's shared limit: a token bucket of R a second, R deep; beyond
it HTTP 429 TooManyRequestsException), --token-expires-in S (the tokens /token issues).

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
    parser.add_argument("--accounts")
    parser.add_argument("--generate", type=int, default=0)
    parser.add_argument("--page-cap", type=int, default=100)
    parser.add_argument("--fail-account")
    parser.add_argument("--loop-pages", action="store_true")
    parser.add_argument("--rate-limit", type=float, default=0)
    parser.add_argument("--oidc-script", default="authorization_pending,slow_down,token")
    parser.add_argument("--oidc-interval", type=int, default=1)
    parser.add_argument("--token-expires-in", type=int, default=3600)
    args = parser.parse_args()

    accounts = []
    if args.accounts:
        with open(args.accounts) as f:
            accounts = json.load(f)
    for i in range(args.generate):
        accounts.append(
            {
                "accountId": f"{100000000000 + i:012d}",
                "accountName": f"team-{i:04d}",
                "roles": ["KiroReadOnly", "KiroWrite"],
            }
        )
    by_id = {a["accountId"]: a for a in accounts}
    accepted = {args.token}
    oidc_steps = args.oidc_script.split(",")
    oidc_state = {"step": 0, "refreshed": 0}
    bucket = {"tokens": args.rate_limit, "at": time.monotonic()}
    bucket_lock = threading.Lock()

    def admit():
        """The portal's shared limit: False when this request is over it."""
        if not args.rate_limit:
            return True
        with bucket_lock:
            now = time.monotonic()
            bucket["tokens"] = min(
                args.rate_limit, bucket["tokens"] + (now - bucket["at"]) * args.rate_limit
            )
            bucket["at"] = now
            if bucket["tokens"] >= 1:
                bucket["tokens"] -= 1
                return True
            return False

    def page(items, query):
        size = min(int(query.get("max_result", ["100"])[0]), args.page_cap)
        token = query.get("next_token", ["0"])[0] or "0"
        if args.loop_pages:
            # A broken portal: the first page again and again, under the same token.
            return items[:size], "again"
        start = int(token)
        chunk = items[start : start + size]
        after = start + size
        return chunk, (str(after) if after < len(items) else None)

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

        def error(self, status, kind, message):
            data = json.dumps({"message": message}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("x-amzn-ErrorType", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            query = urllib.parse.parse_qs(url.query)
            if url.path in ("/assignment/accounts", "/assignment/roles"):
                if not admit():
                    self.record("throttled")
                    return self.error(429, "TooManyRequestsException", "Too many requests")
                self.record(None)
                self.wait()
                if self.headers.get("x-amz-sso_bearer_token") not in accepted:
                    return self.error(401, "UnauthorizedException", "Session token not found or invalid")
                if url.path == "/assignment/accounts":
                    listed = [
                        {"accountId": a["accountId"], "accountName": a["accountName"],
                         "emailAddress": a["accountName"] + "@example.com"}
                        for a in accounts
                    ]
                    chunk, after = page(listed, query)
                    return self.reply(200, {"accountList": chunk, "nextToken": after})
                account = query.get("account_id", [""])[0]
                if account == args.fail_account:
                    return self.error(500, "InternalServerException", "the portal failed")
                if account not in by_id:
                    return self.error(404, "ResourceNotFoundException", "no such account")
                roles = [{"roleName": r, "accountId": account} for r in by_id[account]["roles"]]
                chunk, after = page(roles, query)
                return self.reply(200, {"roleList": chunk, "nextToken": after})
            if url.path != "/federation/credentials":
                self.record(None)
                return self.reply(404, {"message": "not found"})
            if not admit():
                self.record("throttled")
                return self.error(429, "TooManyRequestsException", "Too many requests")
            self.record(None)
            if args.hang:
                stop.wait()
                return
            self.wait()
            if self.headers.get("x-amz-sso_bearer_token") not in accepted:
                # As the portal answers a revoked or unknown token.
                data = json.dumps({"message": "Session token not found or invalid"}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("x-amzn-ErrorType", "UnauthorizedException")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
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

        def oidc(self, body):
            """IAM Identity Center OIDC: register, device authorization, token."""
            request = json.loads(body or b"{}")
            if self.path == "/client/register":
                self.record("RegisterClient")
                return self.reply(200, {
                    "clientId": "stub-client-id",
                    "clientSecret": "stub-client-secret",
                    "clientIdIssuedAt": int(time.time()),
                    "clientSecretExpiresAt": int(time.time()) + 90 * 86400,
                })
            if self.path == "/device_authorization":
                self.record("StartDeviceAuthorization:" + request.get("startUrl", ""))
                return self.reply(200, {
                    "deviceCode": "stub-device-code",
                    "userCode": "ABCD-EFGH",
                    "verificationUri": "https://device.sso.eu-west-1.amazonaws.com/",
                    "verificationUriComplete": "https://device.sso.eu-west-1.amazonaws.com/?user_code=ABCD-EFGH",
                    "expiresIn": 600,
                    "interval": args.oidc_interval,
                })
            grant = request.get("grantType")
            if grant == "refresh_token":
                oidc_state["refreshed"] += 1
                token = f"refreshed-token-{oidc_state['refreshed']}"
                accepted.add(token)
                self.record("CreateToken:refresh_token")
                return self.reply(200, {
                    "accessToken": token, "tokenType": "Bearer",
                    "expiresIn": args.token_expires_in,
                    "refreshToken": f"stub-refresh-token-{oidc_state['refreshed']}",
                })
            step = oidc_steps[min(oidc_state["step"], len(oidc_steps) - 1)]
            oidc_state["step"] += 1
            self.record("CreateToken:" + step)
            if request.get("deviceCode") != "stub-device-code" or request.get("clientSecret") != "stub-client-secret":
                return self.error(400, "InvalidGrantException", "unknown device code or client")
            if step == "token":
                return self.reply(200, {
                    "accessToken": args.token, "tokenType": "Bearer",
                    "expiresIn": args.token_expires_in,
                    "refreshToken": "stub-refresh-token",
                })
            kinds = {
                "authorization_pending": "AuthorizationPendingException",
                "slow_down": "SlowDownException",
                "access_denied": "AccessDeniedException",
                "expired_token": "ExpiredTokenException",
            }
            return self.error(400, kinds[step], step)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path in ("/client/register", "/device_authorization", "/token"):
                return self.oidc(body)
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
