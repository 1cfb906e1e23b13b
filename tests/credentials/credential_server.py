#!/usr/bin/python3
"""A protocol server for the credential provider tests, on 127.0.0.1.

The web identity (STS), container endpoint and IMDSv2 credential sources can
only be exercised here through a server like this one: they live on AWS
(sts.amazonaws.com, 169.254.170.2, 169.254.169.254). It answers as the
documented APIs do:

  POST /                      STS AssumeRoleWithWebIdentity (form body; XML)
  GET  /creds                 container credentials (Authorization checked; JSON)
  PUT  /latest/api/token      IMDSv2 session token (TTL header required)
  GET  /latest/meta-data/iam/security-credentials/[<role>]   IMDS (token checked)
  any other path              an S3 stand-in: 200 to every request, logged

and is driven by the test through:

  POST /_config   JSON object merged into the behaviour (see STATE)
  GET  /_log      JSON list of the requests seen ({method, path, headers})

It prints "<port> <pid>" on its first line once it listens (port 0 = any
free port, so that parallel test runs never collide).
"""
import datetime
import os
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {
    "lifetime": 3600,  # seconds the issued credentials are valid
    "delay": 0.0,  # seconds to wait before answering a credentials request
    "imds_token_status": 200,  # status of PUT /latest/api/token
    "container_token": "",  # expected Authorization of GET /creds ("" = none)
    "web_identity_token": "oidc-token",  # expected WebIdentityToken
    "fail_status": 0,  # if set, every credentials request answers this status
}
LOG = []
ISSUED = [0]
IMDS_TOKENS = set()


def expiration(lifetime):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=lifetime)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def issue():
    with LOCK:
        ISSUED[0] += 1
        n = ISSUED[0]
        lifetime = STATE["lifetime"]
    return {
        "AccessKeyId": "ASIATEST%04d" % n,
        "SecretAccessKey": "secret-%d" % n,
        "Token": "session-token-%d" % n,
        "Expiration": expiration(lifetime),
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def reply(self, status, body=b"", ctype="text/plain"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if self.command == "PUT" and not self.path.startswith("/latest"):
            self.send_header("ETag", '"d41d8cd98f00b204e9800998ecf8427e"')
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def record(self, body):
        with LOCK:
            LOG.append({
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace") if not self.path.startswith("/_") else "",
            })

    def credentials_gate(self):
        """Delay and forced failures of credential requests; True if answered."""
        with LOCK:
            delay, fail = STATE["delay"], STATE["fail_status"]
        if delay:
            time.sleep(delay)
        if fail:
            self.reply(fail, "forced failure")
            return True
        return False

    def handle_any(self):
        body = self.body()
        path = urllib.parse.urlsplit(self.path).path
        if path == "/_config" and self.command == "POST":
            with LOCK:
                STATE.update(json.loads(body))
            return self.reply(200, "ok")
        if path == "/_log":
            with LOCK:
                data = json.dumps(LOG)
            return self.reply(200, data, "application/json")
        self.record(body)
        if path == "/" and self.command == "POST":
            return self.sts(body)
        if path == "/creds":
            if self.credentials_gate():
                return None
            want = STATE["container_token"]
            if want and self.headers.get("Authorization") != want:
                return self.reply(403, '{"message":"bad authorization token"}', "application/json")
            return self.reply(200, json.dumps(dict(issue(), RoleArn="arn:aws:iam::123:role/r")), "application/json")
        if path == "/latest/api/token" and self.command == "PUT":
            if self.credentials_gate():
                return None
            if STATE["imds_token_status"] != 200:
                return self.reply(STATE["imds_token_status"], "")
            if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                return self.reply(400, "missing TTL")
            token = "imds-token-%d" % len(LOG)
            with LOCK:
                IMDS_TOKENS.add(token)
            return self.reply(200, token)
        if path.startswith("/latest/meta-data/iam/security-credentials/"):
            if self.headers.get("X-aws-ec2-metadata-token") not in IMDS_TOKENS:
                return self.reply(401, "")
            role = path[len("/latest/meta-data/iam/security-credentials/"):]
            if role == "":
                return self.reply(200, "test-role\n")
            if role != "test-role":
                return self.reply(404, "")
            doc = dict(issue(), Code="Success", Type="AWS-HMAC", LastUpdated=expiration(0))
            return self.reply(200, json.dumps(doc), "application/json")
        # The S3 stand-in.
        return self.reply(200, "")

    def sts(self, body):
        if self.credentials_gate():
            return None
        form = urllib.parse.parse_qs(body.decode())
        get = lambda k: form.get(k, [""])[0]  # noqa: E731
        if get("Action") != "AssumeRoleWithWebIdentity" or get("Version") != "2011-06-15" or not get("RoleArn") \
                or not get("RoleSessionName"):
            return self.reply(400, "<ErrorResponse><Error><Code>InvalidParameterValue</Code>"
                              "<Message>bad request</Message></Error></ErrorResponse>", "text/xml")
        if get("WebIdentityToken") != STATE["web_identity_token"]:
            return self.reply(400, "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"
                              "<Type>Sender</Type><Code>InvalidIdentityToken</Code>"
                              "<Message>The token is not valid</Message></Error></ErrorResponse>", "text/xml")
        c = issue()
        xml = ("<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
               "<AssumeRoleWithWebIdentityResult><Credentials>"
               "<AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>"
               "<SessionToken>%s</SessionToken><Expiration>%s</Expiration>"
               "</Credentials><SubjectFromWebIdentityToken>sub</SubjectFromWebIdentityToken>"
               "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"
               % (c["AccessKeyId"], c["SecretAccessKey"], c["Token"], c["Expiration"]))
        return self.reply(200, xml, "text/xml")

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_any


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(server.server_address[1], os.getpid(), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
