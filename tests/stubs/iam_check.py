#!/usr/bin/env python3
"""Check IAM policies against moto's IAM enforcement, on loopback only.

    python3 iam_check.py SPEC.json        (SPEC "-" reads standard input)

SPEC:
  {"managed_policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess", ...],
   "inline_policy": {policy document} | null,
   "extra_policies": [{policy document}, ...],
   "permissions_boundary": {policy document} | "arn:..." | null,   (optional)
   "session_policy": {policy document} | null,                      (optional)
   "calls": [{"service": "s3", "operation": "GetObject", "params": {...}}, ...]}

"validate": false in a call skips botocore's parameter validation (to probe
moto with incomplete requests).  "params" may be left out for the operations
in DEFAULT_PARAMS; string values
may hold ${name} placeholders for the fixtures (see FIXTURE_NAMES in the
output).  One JSON object goes to standard output:

  {"results": [{"service", "operation", "outcome": "allowed"|"denied"|"error",
                "code", "message", "iam_action", "auth_checked"}, ...],
   "fixtures": {...}, "warnings": [...], "moto": "...", "botocore": "..."}

outcome "denied": moto's IAM check refused the call.  "allowed": the call
passed moto's IAM check (it then succeeded, or failed for another reason,
named in "code").  "error": no answer about IAM: bad parameters, a moto
crash, or a call that moto served WITHOUT running its IAM check
(code "NotAuthChecked"); never count those as allowed.

Exit status: 0 when every call was made (whatever the outcomes), 2 for a bad
spec, 3 for a setup failure, 4 when the time budget ran out.  Moto runs in
this process as a ThreadedMotoServer bound to 127.0.0.1; no other address is
ever contacted, and the server is stopped before exit.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import threading
import time
import traceback
import urllib.request

TIME_BUDGET = float(os.environ.get("IAM_CHECK_BUDGET_SECONDS", "50"))  # soft: stop making calls
HARD_LIMIT = TIME_BUDGET + 8                                             # hard: kill the process
_T0 = time.monotonic()
REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_NAME = "kiro-aws-check"

# Environment before moto and botocore are imported: managed policies on,
# dummy credentials, nothing read from the user's AWS config, no proxies.
for _k in list(os.environ):
    if _k.startswith("AWS_") or _k.lower() in ("http_proxy", "https_proxy", "all_proxy"):
        os.environ.pop(_k, None)
os.environ.update({
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    "MOTO_DOCKER_NETWORK_MODE": "none",
})

# Loopback only, enforced: refuse any socket connection or name lookup that
# is not for this machine's loopback, so nothing here can reach a network.
import ipaddress  # noqa: E402
import socket  # noqa: E402

_orig_connect = socket.socket.connect
_orig_connect_ex = socket.socket.connect_ex
_orig_getaddrinfo = socket.getaddrinfo


def _loopback_only(address) -> None:  # noqa: ANN001
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return
    host = address[0]
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        if host == "localhost":
            return
    raise OSError(f"iam_check: refused non-loopback connection to {host!r}")


def _guarded_connect(self, address):  # noqa: ANN001
    _loopback_only(address)
    return _orig_connect(self, address)


def _guarded_connect_ex(self, address):  # noqa: ANN001
    _loopback_only(address)
    return _orig_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):  # noqa: ANN001
    if host is not None:
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            ok = ipaddress.ip_address(name).is_loopback
        except ValueError:
            ok = name == "localhost"
        if not ok:
            raise socket.gaierror(f"iam_check: refused lookup of non-loopback name {name!r}")
    return _orig_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
socket.getaddrinfo = _guarded_getaddrinfo

_real_stdout = sys.stdout
_state = {"server": None, "done": False}


def _emit_and_exit(obj: dict, code: int) -> None:
    _real_stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    _real_stdout.flush()
    os._exit(code)


def _fail(code: int, msg: str) -> None:
    print(f"iam_check: {msg}", file=sys.stderr)
    _stop_server()
    _emit_and_exit({"error": msg, "results": []}, code)


def _watchdog() -> None:
    time.sleep(HARD_LIMIT)
    if not _state["done"]:
        print(f"iam_check: hard time limit {HARD_LIMIT:.0f}s reached, exiting", file=sys.stderr)
        _emit_and_exit({"error": "time limit reached", "results": []}, 4)


def _stop_server() -> None:
    srv = _state.get("server")
    _state["server"] = None
    if srv is None:
        return
    t = threading.Thread(target=srv.stop, daemon=True)
    t.start()
    t.join(5)


threading.Thread(target=_watchdog, daemon=True).start()

# Run under the kit's venv (pinned moto/botocore) when it is there: another
# interpreter may carry a different moto, and results differ between versions.
# IAM_CHECK_PYTHON names another interpreter; IAM_CHECK_NO_VENV=1 keeps this one.
_kit_venv = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "venv")
_want_py = os.environ.get("IAM_CHECK_PYTHON") or os.path.join(_kit_venv, "bin", "python")
if (not os.environ.get("IAM_CHECK_NO_VENV") and not os.environ.get("IAM_CHECK_REEXEC")
        and os.path.exists(_want_py)
        and (os.environ.get("IAM_CHECK_PYTHON")
             or os.path.realpath(sys.prefix) != os.path.realpath(_kit_venv))):
    os.environ["IAM_CHECK_REEXEC"] = "1"
    os.execv(_want_py, [_want_py, os.path.abspath(__file__), *sys.argv[1:]])
PINNED = {"moto": "5.2.5", "botocore": "1.44.5"}

import logging  # noqa: E402

logging.getLogger("werkzeug").setLevel(logging.ERROR)

# Library imports go to stderr if they print anything.
with contextlib.redirect_stdout(sys.stderr):
    try:
        import botocore
        import botocore.session
        from botocore import xform_name
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

        import moto
        from moto.core.authorization import ActionAuthenticatorMixin
        from moto.iam import access_control as _ac
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    except Exception as exc:  # pragma: no cover
        _fail(3, f"cannot import moto/botocore: {exc}")

# --- record what moto's IAM check saw, per request --------------------------
_audit_lock = threading.Lock()
_audit: list[dict] = []
_orig_check = _ac.IAMRequestBase.check_action_permitted
_orig_auth = ActionAuthenticatorMixin._authenticate_and_authorize_action


def _rec_auth(self, iam_request_cls, resource="*"):  # noqa: ANN001
    entry = {"entered": True, "action": None, "resource": resource, "result": None}
    with _audit_lock:
        _audit.append(entry)
    try:
        return _orig_auth(self, iam_request_cls, resource)
    except Exception as exc:
        entry["result"] = entry["result"] or type(exc).__name__
        raise


def _rec_check(self, resource):  # noqa: ANN001
    with _audit_lock:
        entry = _audit[-1] if _audit else {}
    entry["action"] = getattr(self, "_action", None)
    entry["resource"] = resource
    try:
        out = _orig_check(self, resource)
        entry["result"] = "permitted"
        return out
    except Exception:
        entry["result"] = "denied"
        raise


_ac.IAMRequestBase.check_action_permitted = _rec_check
ActionAuthenticatorMixin._authenticate_and_authorize_action = _rec_auth

# Speed only, same semantics: moto turns every policy pattern into a regex on
# every request (ReadOnlyAccess has ~3,000), which overflows re's cache.
import functools  # noqa: E402


@functools.lru_cache(maxsize=None)
def _pattern(p: str):
    return re.compile("^" + p.replace("*", ".*") + "$")


_ac.IAMPolicyStatement._match = staticmethod(lambda pattern, string: _pattern(pattern).match(string))

# Signature checking is not what we test, and moto's re-signing disagrees
# with botocore for some REST paths (Lambda: SignatureDoesNotMatch before the
# IAM check).  Credentials are still looked up (unknown keys still fail).
if os.environ.get("IAM_CHECK_VERIFY_SIGNATURES") != "1":
    _ac.IAMRequestBase.check_signature = lambda self: None

DENIED_CODES = {
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
    "AuthorizationError", "AuthorizationErrorException", "Forbidden", "ForbiddenException",
    "NotAuthorized", "NotAuthorizedException", "AccessDeniedFault",
}
AUTH_SETUP_CODES = {"InvalidClientTokenId", "SignatureDoesNotMatch", "AuthFailure",
                    "InvalidAccessKeyId", "InvalidToken", "UnrecognizedClientException",
                    "ExpiredToken", "IncompleteSignature", "MissingAuthenticationToken"}

# Default parameters for calls that leave "params" out.
DEFAULT_PARAMS: dict[tuple[str, str], dict] = {
    ("s3", "GetObject"): {"Bucket": "${bucket}", "Key": "${object_key}"},
    ("s3", "HeadObject"): {"Bucket": "${bucket}", "Key": "${object_key}"},
    ("s3", "PutObject"): {"Bucket": "${bucket}", "Key": "written-by-check.txt", "Body": b"x"},
    ("s3", "DeleteObject"): {"Bucket": "${bucket}", "Key": "written-by-check.txt"},
    ("s3", "ListObjectsV2"): {"Bucket": "${bucket}"},
    ("s3", "GetObjectTagging"): {"Bucket": "${bucket}", "Key": "${object_key}"},
    ("s3", "GetObjectAcl"): {"Bucket": "${bucket}", "Key": "${object_key}"},
    ("s3", "GetBucketPolicy"): {"Bucket": "${bucket}"},
    ("s3", "CreateBucket"): {"Bucket": "kiro-check-new-bucket"},
    ("s3", "SelectObjectContent"): {
        "Bucket": "${bucket}", "Key": "${object_key}", "Expression": "select * from s3object",
        "ExpressionType": "SQL", "InputSerialization": {"CSV": {}}, "OutputSerialization": {"CSV": {}}},
    ("ssm", "GetParameter"): {"Name": "${ssm_parameter}", "WithDecryption": True},
    ("ssm", "GetParameters"): {"Names": ["${ssm_parameter}"], "WithDecryption": True},
    ("ssm", "GetParametersByPath"): {"Path": "/kiro/check", "WithDecryption": True},
    ("ssm", "GetParameterHistory"): {"Name": "${ssm_parameter}", "WithDecryption": True},
    ("ssm", "DescribeParameters"): {},
    ("ssm", "PutParameter"): {"Name": "/kiro/check/new", "Value": "v", "Type": "String"},
    ("secretsmanager", "GetSecretValue"): {"SecretId": "${secret_id}"},
    ("secretsmanager", "BatchGetSecretValue"): {"SecretIdList": ["${secret_id}"]},
    ("secretsmanager", "DescribeSecret"): {"SecretId": "${secret_id}"},
    ("secretsmanager", "ListSecrets"): {},
    ("secretsmanager", "PutSecretValue"): {"SecretId": "${secret_id}", "SecretString": "new"},
    ("kms", "Decrypt"): {"CiphertextBlob": "${kms_ciphertext}"},
    ("kms", "GenerateDataKey"): {"KeyId": "${kms_key_id}", "KeySpec": "AES_256"},
    ("kms", "DescribeKey"): {"KeyId": "${kms_key_id}"},
    ("kms", "ListKeys"): {},
    ("kms", "Encrypt"): {"KeyId": "${kms_key_id}", "Plaintext": b"x"},
    ("dynamodb", "GetItem"): {"TableName": "${table}", "Key": {"id": {"S": "k1"}}},
    ("dynamodb", "BatchGetItem"): {"RequestItems": {"${table}": {"Keys": [{"id": {"S": "k1"}}]}}},
    ("dynamodb", "Query"): {"TableName": "${table}", "KeyConditionExpression": "id = :v",
                            "ExpressionAttributeValues": {":v": {"S": "k1"}}},
    ("dynamodb", "Scan"): {"TableName": "${table}"},
    ("dynamodb", "ExecuteStatement"): {"Statement": "SELECT * FROM \"${table}\""},
    ("dynamodb", "DescribeTable"): {"TableName": "${table}"},
    ("dynamodb", "ListTables"): {},
    ("dynamodb", "PutItem"): {"TableName": "${table}", "Item": {"id": {"S": "k2"}}},
    ("lambda", "GetFunction"): {"FunctionName": "${function}"},
    ("lambda", "GetFunctionConfiguration"): {"FunctionName": "${function}"},
    ("lambda", "ListFunctions"): {},
    ("logs", "GetLogEvents"): {"logGroupName": "${log_group}", "logStreamName": "${log_stream}"},
    ("logs", "FilterLogEvents"): {"logGroupName": "${log_group}"},
    ("logs", "StartQuery"): {"logGroupName": "${log_group}", "startTime": 0, "endTime": 2000000000,
                             "queryString": "fields @message"},
    ("logs", "DescribeLogGroups"): {},
    ("logs", "PutLogEvents"): {"logGroupName": "${log_group}", "logStreamName": "${log_stream}",
                               "logEvents": [{"timestamp": 1700000000000, "message": "m"}]},
    ("kinesis", "GetRecords"): {"ShardIterator": "${kinesis_iterator}"},
    ("kinesis", "GetShardIterator"): {"StreamName": "${kinesis_stream}", "ShardId": "shardId-000000000000",
                                      "ShardIteratorType": "TRIM_HORIZON"},
    ("kinesis", "DescribeStream"): {"StreamName": "${kinesis_stream}"},
    ("kinesis", "ListStreams"): {},
    ("kinesis", "PutRecord"): {"StreamName": "${kinesis_stream}", "Data": b"x", "PartitionKey": "p"},
    ("sqs", "ReceiveMessage"): {"QueueUrl": "${queue_url}", "WaitTimeSeconds": 0},
    ("sqs", "GetQueueAttributes"): {"QueueUrl": "${queue_url}", "AttributeNames": ["All"]},
    ("sqs", "ListQueues"): {},
    ("sqs", "SendMessage"): {"QueueUrl": "${queue_url}", "MessageBody": "m"},
    ("athena", "GetQueryResults"): {"QueryExecutionId": "${athena_query_id}"},
    ("athena", "GetQueryExecution"): {"QueryExecutionId": "${athena_query_id}"},
    ("athena", "ListWorkGroups"): {},
    ("ec2", "GetPasswordData"): {"InstanceId": "${instance_id}"},
    ("ec2", "GetConsoleOutput"): {"InstanceId": "${instance_id}"},
    ("ec2", "GetConsoleScreenshot"): {"InstanceId": "${instance_id}"},
    ("ec2", "GetLaunchTemplateData"): {"InstanceId": "${instance_id}"},
    ("ec2", "DescribeInstances"): {},
    ("ec2", "DescribeVpcs"): {},
    ("ec2", "RunInstances"): {"ImageId": "${ami_id}", "MinCount": 1, "MaxCount": 1},
    ("ec2", "TerminateInstances"): {"InstanceIds": ["${instance_id}"]},
    ("ec2", "CreateTags"): {"Resources": ["${instance_id}"], "Tags": [{"Key": "k", "Value": "v"}]},
    ("ecr", "BatchGetImage"): {"repositoryName": "${ecr_repo}", "imageIds": [{"imageTag": "latest"}]},
    ("ecr", "GetDownloadUrlForLayer"): {"repositoryName": "${ecr_repo}", "layerDigest": "sha256:" + "0" * 64},
    ("ecr", "GetAuthorizationToken"): {},
    ("ecr", "DescribeRepositories"): {},
    ("ecr", "DescribeImages"): {"repositoryName": "${ecr_repo}"},
    ("codecommit", "GetBlob"): {"repositoryName": "${codecommit_repo}", "blobId": "0" * 40},
    ("codecommit", "GetFile"): {"repositoryName": "${codecommit_repo}", "filePath": "README.md"},
    ("codecommit", "GetFolder"): {"repositoryName": "${codecommit_repo}", "folderPath": "/"},
    ("codecommit", "GetDifferences"): {"repositoryName": "${codecommit_repo}", "afterCommitSpecifier": "main"},
    ("codecommit", "GetCommit"): {"repositoryName": "${codecommit_repo}", "commitId": "0" * 40},
    ("codecommit", "GetRepository"): {"repositoryName": "${codecommit_repo}"},
    ("codecommit", "ListRepositories"): {},
    ("cloudformation", "GetTemplate"): {"StackName": "${stack}"},
    ("cloudformation", "DescribeStacks"): {},
    ("cloudformation", "ListStacks"): {},
    ("sts", "GetSessionToken"): {},
    ("sts", "GetFederationToken"): {"Name": "kiro"},
    ("sts", "GetCallerIdentity"): {},
    ("cloudtrail", "StopLogging"): {"Name": "kiro-check-trail"},
    ("cloudtrail", "DeleteTrail"): {"Name": "kiro-check-trail"},
    ("s3", "PutBucketPolicy"): {"Bucket": "${bucket}", "Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[]}"},
    ("s3", "PutBucketAcl"): {"Bucket": "${bucket}", "ACL": "public-read"},
    ("iam", "CreateUser"): {"UserName": "kiro-check-new-user"},
    ("iam", "CreateRole"): {"RoleName": "kiro-check-new-role", "AssumeRolePolicyDocument": "${trust_policy}"},
    ("iam", "AttachRolePolicy"): {"RoleName": "${role_name}", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
    ("iam", "PutRolePolicy"): {"RoleName": "${role_name}", "PolicyName": "escalate",
                               "PolicyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"},
    ("iam", "CreateAccessKey"): {"UserName": "${iam_user}"},
    ("iam", "CreateLoginProfile"): {"UserName": "${iam_user}", "Password": "Passw0rd!Passw0rd!"},
    ("iam", "UpdateAssumeRolePolicy"): {"RoleName": "${role_name}", "PolicyDocument": "${trust_policy}"},
    ("iam", "CreatePolicyVersion"): {"PolicyArn": "${customer_policy_arn}", "SetAsDefault": True,
                                     "PolicyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"},
    ("iam", "DeleteRolePermissionsBoundary"): {"RoleName": "${role_name}"},
    ("iam", "CreateServiceLinkedRole"): {"AWSServiceName": "autoscaling.amazonaws.com"},
    ("iam", "ListRoles"): {},
    ("iam", "ListUsers"): {},
    ("iam", "GetRole"): {"RoleName": "${role_name}"},
    ("iam", "PassRole"): None,  # not an API call; see REPORT.md
    ("organizations", "ListAccounts"): {},
    ("organizations", "DescribeOrganization"): {},
    ("sso-admin", "ListInstances"): {},
    ("identitystore", "CreateUser"): {"IdentityStoreId": "d-0000000000", "UserName": "x", "DisplayName": "x"},
}

FIXTURE_NAMES = ["bucket", "object_key", "ssm_parameter", "secret_id", "kms_key_id", "kms_ciphertext",
                 "table", "function", "log_group", "log_stream", "kinesis_stream", "kinesis_iterator",
                 "queue_url", "athena_query_id", "instance_id", "ami_id", "ecr_repo", "codecommit_repo",
                 "stack", "role_name", "role_arn", "iam_user", "trust_policy", "customer_policy_arn",
                 "passrole_inside_arn", "passrole_outside_arn"]


def _elapsed() -> float:
    return time.monotonic() - _T0


_clients: dict = {}


def _client(session, service: str, endpoint: str, creds: dict | None, validate: bool = True):
    key = (service, endpoint, (creds or {}).get("AccessKeyId"), validate)
    if key not in _clients:
        _clients[key] = _new_client(session, service, endpoint, creds, validate)
    return _clients[key]


def _new_client(session, service: str, endpoint: str, creds: dict | None, validate: bool = True):
    cfg = Config(region_name=REGION, connect_timeout=3, read_timeout=15,
                 retries={"max_attempts": 1, "mode": "standard"},
                 s3={"addressing_style": "path"}, proxies={}, parameter_validation=validate,
                 inject_host_prefix=False)
    kw = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    if creds:
        kw = {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
              "aws_session_token": creds["SessionToken"]}
    return session.create_client(service, region_name=REGION, endpoint_url=endpoint, config=cfg, **kw)


def _subst(value, fx: dict):
    if isinstance(value, str):
        m = re.fullmatch(r"\$\{(\w+)\}", value)
        if m and m.group(1) in fx and not isinstance(fx[m.group(1)], str):
            return fx[m.group(1)]          # whole-value placeholder keeps its type (bytes)
        return re.sub(r"\$\{(\w+)\}", lambda mm: str(fx.get(mm.group(1), mm.group(0))), value)
    if isinstance(value, list):
        return [_subst(v, fx) for v in value]
    if isinstance(value, dict):
        return {_subst(k, fx): _subst(v, fx) for k, v in value.items()}
    return value


def _load_spec(path: str) -> dict:
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        spec = json.loads(text)
    except Exception as exc:
        _fail(2, f"cannot read spec {path}: {exc}")
    if not isinstance(spec, dict) or not isinstance(spec.get("calls", []), list):
        _fail(2, "spec must be an object with a list 'calls'")
    for i, c in enumerate(spec.get("calls", [])):
        if not isinstance(c, dict) or not isinstance(c.get("service"), str) or not isinstance(c.get("operation"), str):
            _fail(2, f"calls[{i}] needs string 'service' and 'operation'")
    for key in ("managed_policies", "extra_policies"):
        if not isinstance(spec.get(key) or [], list):
            _fail(2, f"'{key}' must be a list")
    return spec


def _setup(session, endpoint: str, spec: dict, warnings: list[str]) -> tuple[dict, dict]:
    """Create fixtures with admin (unauthenticated) access; return (fixtures, role creds)."""
    fx: dict = {}
    c = lambda svc: _client(session, svc, endpoint, None)  # noqa: E731
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}
    fx["trust_policy"] = json.dumps(trust)
    iam = c("iam")
    # Role under test and its policies: failures here are fatal.
    role = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    fx["role_name"], fx["role_arn"] = ROLE_NAME, role["Arn"]
    for arn in spec.get("managed_policies") or []:
        try:
            iam.get_policy(PolicyArn=arn)
        except ClientError as exc:
            raise RuntimeError(f"managed policy {arn} is not known to moto: {exc}") from exc
        iam.attach_role_policy(RoleName=ROLE_NAME, PolicyArn=arn)
    docs = []
    if spec.get("inline_policy"):
        docs.append(("kiro-inline", spec["inline_policy"]))
    for i, d in enumerate(spec.get("extra_policies") or []):
        docs.append((f"kiro-extra-{i}", d))
    for name, d in docs:
        iam.put_role_policy(RoleName=ROLE_NAME, PolicyName=name,
                            PolicyDocument=d if isinstance(d, str) else json.dumps(d))
    pb = spec.get("permissions_boundary")
    if pb:
        if isinstance(pb, str) and pb.startswith("arn:"):
            pb_arn = pb
        else:
            pb_arn = iam.create_policy(PolicyName="kiro-boundary",
                                       PolicyDocument=pb if isinstance(pb, str) else json.dumps(pb))["Policy"]["Arn"]
        iam.put_role_permissions_boundary(RoleName=ROLE_NAME, PermissionsBoundary=pb_arn)
    # Helpers for escalation checks.
    iam.create_user(UserName="kiro-check-user")
    fx["iam_user"] = "kiro-check-user"
    fx["customer_policy_arn"] = iam.create_policy(
        PolicyName="kiro-check-customer",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}))["Policy"]["Arn"]
    fx["passrole_inside_arn"] = iam.create_role(RoleName="worker", Path="/kiro-agent/",
                                                AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    fx["passrole_outside_arn"] = iam.create_role(RoleName="outside", Path="/",
                                                 AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]

    print(f"iam_check: role and policies ready at {_elapsed():.1f}s", file=sys.stderr)

    needed = {c["service"] for c in spec.get("calls", [])}

    def opt(name: str, fn) -> None:  # optional fixture: a warning, not a failure
        if name not in needed:   # only build what the calls use
            return
        if _elapsed() > TIME_BUDGET * 0.5:
            warnings.append(f"fixture {name} skipped: time budget")
            return
        t = time.monotonic()
        try:
            fn()
        except Exception as exc:
            warnings.append(f"fixture {name} not created: {type(exc).__name__}: {str(exc)[:200]}")
        if os.environ.get("IAM_CHECK_DEBUG"):
            print(f"iam_check: fixture {name} {time.monotonic() - t:.2f}s", file=sys.stderr)

    def s3():
        cl = c("s3")
        cl.create_bucket(Bucket="kiro-check-bucket")
        cl.put_object(Bucket="kiro-check-bucket", Key="secret.txt", Body=b"a,b\n1,2\n")
        fx["bucket"], fx["object_key"] = "kiro-check-bucket", "secret.txt"
    fx.setdefault("bucket", "kiro-check-bucket"); fx.setdefault("object_key", "secret.txt")
    opt("s3", s3)

    def ssm():
        c("ssm").put_parameter(Name="/kiro/check/secret", Value="s3cr3t", Type="SecureString")
    fx["ssm_parameter"] = "/kiro/check/secret"
    opt("ssm", ssm)

    def sm():
        fx["secret_id"] = c("secretsmanager").create_secret(Name="kiro/check/secret", SecretString="s3cr3t")["ARN"]
    fx["secret_id"] = "kiro/check/secret"
    opt("secretsmanager", sm)

    def kms():
        k = c("kms")
        kid = k.create_key()["KeyMetadata"]["KeyId"]
        fx["kms_key_id"] = kid
        fx["kms_ciphertext"] = k.encrypt(KeyId=kid, Plaintext=b"s3cr3t")["CiphertextBlob"]
    fx["kms_key_id"] = "00000000-0000-0000-0000-000000000000"; fx["kms_ciphertext"] = b"\x00" * 32
    opt("kms", kms)

    def ddb():
        d = c("dynamodb")
        d.create_table(TableName="kiro-check-table", BillingMode="PAY_PER_REQUEST",
                       KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        d.put_item(TableName="kiro-check-table", Item={"id": {"S": "k1"}, "secret": {"S": "s3cr3t"}})
    fx["table"] = "kiro-check-table"
    opt("dynamodb", ddb)

    def sqs():
        q = c("sqs")
        fx["queue_url"] = q.create_queue(QueueName="kiro-check-queue")["QueueUrl"]
        q.send_message(QueueUrl=fx["queue_url"], MessageBody="s3cr3t")
    fx["queue_url"] = f"{endpoint}/{ACCOUNT}/kiro-check-queue"
    opt("sqs", sqs)

    def logs():
        lg = c("logs")
        lg.create_log_group(logGroupName="/kiro/check")
        lg.create_log_stream(logGroupName="/kiro/check", logStreamName="s1")
        lg.put_log_events(logGroupName="/kiro/check", logStreamName="s1",
                          logEvents=[{"timestamp": int(time.time() * 1000), "message": "s3cr3t"}])
    fx["log_group"], fx["log_stream"] = "/kiro/check", "s1"
    opt("logs", logs)

    def kinesis():
        k = c("kinesis")
        k.create_stream(StreamName="kiro-check-stream", ShardCount=1)
        k.put_record(StreamName="kiro-check-stream", Data=b"s3cr3t", PartitionKey="p")
        fx["kinesis_iterator"] = k.get_shard_iterator(
            StreamName="kiro-check-stream", ShardId="shardId-000000000000",
            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    fx["kinesis_stream"], fx["kinesis_iterator"] = "kiro-check-stream", "AAAA"
    opt("kinesis", kinesis)

    def athena():
        fx["athena_query_id"] = c("athena").start_query_execution(
            QueryString="select 1", ResultConfiguration={"OutputLocation": "s3://kiro-check-bucket/athena/"})["QueryExecutionId"]
    fx["athena_query_id"] = "00000000-0000-0000-0000-000000000000"
    opt("athena", athena)

    def ec2():
        e = c("ec2")
        ami = e.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        fx["ami_id"] = ami
        fx["instance_id"] = e.run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    fx["ami_id"], fx["instance_id"] = "ami-00000000", "i-00000000000000000"
    opt("ec2", ec2)

    def ecr():
        e = c("ecr")
        e.create_repository(repositoryName="kiro-check-repo")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                               "digest": "sha256:" + "1" * 64}, "layers": []}
        e.put_image(repositoryName="kiro-check-repo", imageManifest=json.dumps(manifest), imageTag="latest")
    fx["ecr_repo"] = "kiro-check-repo"
    opt("ecr", ecr)

    def codecommit():
        c("codecommit").create_repository(repositoryName="kiro-check-repo")
    fx["codecommit_repo"] = "kiro-check-repo"
    opt("codecommit", codecommit)

    def cfn():
        c("cloudformation").create_stack(StackName="kiro-check-stack", TemplateBody=json.dumps(
            {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "kiro-check-cfn"}}}}))
    fx["stack"] = "kiro-check-stack"
    opt("cloudformation", cfn)

    def lam():
        import zipfile
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("index.py", "def handler(e, c):\n    return 1\n")
        c("lambda").create_function(FunctionName="kiro-check-fn", Runtime="python3.12", Handler="index.handler",
                                    Role=fx["passrole_outside_arn"], Code={"ZipFile": buf.getvalue()},
                                    Environment={"Variables": {"SECRET": "s3cr3t"}})
    fx["function"] = "kiro-check-fn"
    opt("lambda", lam)

    def org():
        c("organizations").create_organization(FeatureSet="ALL")
    opt("organizations", org)

    # Assume the role while IAM enforcement is still off (moto's trust check
    # compares the caller ARN literally, so an account-root trust would refuse
    # any caller once enforcement is on).
    kw = {"RoleArn": role["Arn"], "RoleSessionName": "kiro-check", "DurationSeconds": 3600}
    if spec.get("session_policy"):
        sp = spec["session_policy"]
        kw["Policy"] = sp if isinstance(sp, str) else json.dumps(sp)
    creds = c("sts").assume_role(**kw)["Credentials"]
    return fx, creds


def _enable_auth(endpoint: str) -> None:
    req = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                 headers={"Content-Type": "text/plain"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=5) as resp:
        body = json.loads(resp.read().decode())
    if body.get("status") != "ok":
        raise RuntimeError(f"reset-auth answered {body}")


def _make_call(session, endpoint: str, creds: dict, call: dict, fx: dict) -> dict:
    svc, op = call["service"], call["operation"]
    out = {"service": svc, "operation": op, "outcome": "error", "code": None, "message": "",
           "iam_action": None, "auth_checked": False}
    params = call.get("params")
    if params is None:
        params = DEFAULT_PARAMS.get((svc, op))
        if params is None:
            if (svc, op) in DEFAULT_PARAMS:
                out.update(code="NotAnApiCall", message=f"{svc}:{op} is not an API operation")
                return out
            params = {}
    params = _subst(params, fx)
    if _elapsed() > TIME_BUDGET:
        out.update(code="Timeout", message="time budget used up before this call")
        return out
    try:
        client = _client(session, svc, endpoint, creds, validate=call.get("validate", True) is not False)
        if op not in client.meta.service_model.operation_names:
            out.update(code="UnknownOperation", message=f"botocore {botocore.__version__} has no {svc}.{op}")
            return out
        method = getattr(client, xform_name(op))
    except Exception as exc:
        out.update(code="UnknownService", message=f"{type(exc).__name__}: {exc}"[:300])
        return out
    with _audit_lock:
        _audit.clear()
    t_call = time.monotonic()
    code, message, ok = None, "", False
    try:
        resp = method(**params)
        if hasattr(resp.get("Payload"), "__iter__") and op == "SelectObjectContent":
            for _ in resp["Payload"]:
                pass
        ok, message = True, "ok"
    except ClientError as exc:
        err = exc.response.get("Error", {})
        code = err.get("Code") or str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
        message = err.get("Message") or str(exc)
    except ParamValidationError as exc:
        out.update(code="ParamValidationError", message=str(exc)[:300])
        return out
    except (BotoCoreError, Exception) as exc:  # connection problems, parse errors
        code, message = type(exc).__name__, str(exc)
    if code and str(code).isdigit():
        m = re.search(r"<Code>([^<]+)</Code>", message or "")
        if m:  # moto answers IAM refusals in XML even for JSON-protocol services
            code = m.group(1)
            mm = re.search(r"<Message>([^<]*)</Message>", message)
            message = mm.group(1) if mm else message
    with _audit_lock:
        audit = list(_audit)
    out["seconds"] = round(time.monotonic() - t_call, 3)
    checks = [a for a in audit if a.get("action")]
    out["iam_action"] = checks[-1]["action"] if checks else None
    out["auth_checked"] = bool(checks)
    out["code"], out["message"] = code, (message or "")[:300]
    denied_by_moto = any(a.get("result") == "denied" for a in checks)
    if denied_by_moto or (code in DENIED_CODES and checks):
        out["outcome"] = "denied"
    elif not checks:
        out["outcome"] = "error"
        out["message"] = f"moto served this call without its IAM check ({'ok' if ok else code}): " + out["message"]
        out["code"] = "NotAuthChecked"
    elif code in AUTH_SETUP_CODES:
        out["outcome"] = "error"
    else:
        out["outcome"] = "allowed"  # passed IAM; succeeded or failed later (code says how)
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    spec = _load_spec(argv[1])
    print(f"iam_check: imports done at {_elapsed():.1f}s", file=sys.stderr)
    warnings: list[str] = []
    for name, mod in (("moto", moto), ("botocore", botocore)):
        if mod.__version__ != PINNED[name]:
            warnings.append(f"{name} {mod.__version__} in use, kit pins {PINNED[name]} (results may differ)")
    session = botocore.session.Session()
    session.set_config_variable("region", REGION)
    with contextlib.redirect_stdout(sys.stderr):
        try:
            srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            srv.start()
            _state["server"] = srv
            host, port = srv.get_host_and_port()
            if host != "127.0.0.1":
                raise RuntimeError(f"moto bound to {host}, not loopback")
            endpoint = f"http://127.0.0.1:{port}"
            fx, creds = _setup(session, endpoint, spec, warnings)
            _enable_auth(endpoint)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            _fail(3, f"setup failed: {type(exc).__name__}: {exc}")
        print(f"iam_check: fixtures ready, enforcement on at {_elapsed():.1f}s", file=sys.stderr)
        results = [_make_call(session, endpoint, creds, call, fx) for call in spec.get("calls", [])]
    _stop_server()
    _state["done"] = True
    shown_fx = {k: (v if isinstance(v, str) else "<bytes>") for k, v in sorted(fx.items())}
    doc = {"results": results, "fixtures": shown_fx, "warnings": warnings,
           "moto": moto.__version__, "botocore": botocore.__version__,
           "elapsed_seconds": round(_elapsed(), 2)}
    _real_stdout.write(json.dumps(doc, sort_keys=True) + "\n")
    _real_stdout.flush()
    return 4 if any(r["code"] == "Timeout" for r in results) else 0


if __name__ == "__main__":
    rc = main(sys.argv)
    sys.stdout.flush()
    os._exit(rc)
