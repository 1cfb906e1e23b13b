#!/usr/bin/python3
"""boto3/botocore side of the S3 benchmark (bench/s3/run.sh drives it).

Each measuring command does one operation inside this process and prints one
JSON line: wall seconds, CPU seconds (user + system, all threads) and peak RSS,
measured around the operation only (interpreter start and imports excluded).

Environment: BENCH_ENDPOINT, BENCH_ACCESS_KEY, BENCH_SECRET_KEY, BENCH_BUCKET.

  peers.py mkbucket
  peers.py presign get|put KEY                  print a presigned URL (1 h)
  peers.py curl-config PREFIX COUNT FILE        curl -K config: COUNT presigned PUTs of FILE
  peers.py put-file FILE KEY                    boto3 upload_file (managed multipart)
  peers.py put-object FILE KEY                  boto3 put_object (one request)
  peers.py get-file KEY FILE                    boto3 download_file
  peers.py small-puts COUNT SIZE PREFIX         COUNT sequential put_object calls
  peers.py sign-rate COUNT                      botocore SigV4 signatures per second
  peers.py delete-prefix PREFIX                 delete every object under PREFIX
"""
import json
import os
import resource
import sys
import time

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.config import Config


def client():
    return boto3.client(
        "s3",
        endpoint_url=os.environ["BENCH_ENDPOINT"],
        aws_access_key_id=os.environ["BENCH_ACCESS_KEY"],
        aws_secret_access_key=os.environ["BENCH_SECRET_KEY"],
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"mode": "standard"}),
    )


def usage():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), ru.ru_utime + ru.ru_stime


def report(tool, op, nbytes, requests, start):
    t1, c1 = usage()
    print(
        json.dumps(
            {
                "tool": tool,
                "op": op,
                "bytes": nbytes,
                "requests": requests,
                "seconds": t1 - start[0],
                "cpu": c1 - start[1],
                "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )


def main(argv):
    bucket = os.environ.get("BENCH_BUCKET", "ms-bench")
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "sign-rate":
        n = int(argv[2])
        creds = botocore.credentials.Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        auth = botocore.auth.S3SigV4Auth(creds, "s3", "us-east-1")
        # The same request as bench_sign's: a PUT of a photo with its headers
        # and a precomputed payload hash (nothing is hashed per signature).
        req = botocore.awsrequest.AWSRequest(
            method="PUT",
            url="http://127.0.0.1:7481/media-bucket/photos/2024/06/img_000123.jpg",
            headers={
                "Content-Type": "image/jpeg",
                "Content-Length": "1048576",
                "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
                "x-amz-meta-owner": "user-42",
                "X-Amz-Content-SHA256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            },
        )
        start = usage()
        for _ in range(n):
            auth.add_auth(req)
        t1, c1 = usage()
        print(json.dumps({"tool": "botocore", "op": "sign", "count": n, "seconds": t1 - start[0],
                          "cpu": c1 - start[1], "per_second": n / (t1 - start[0])}))
        return 0

    s3 = client()
    if cmd == "mkbucket":
        try:
            s3.create_bucket(Bucket=bucket)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        return 0
    if cmd == "presign":
        method = {"get": "get_object", "put": "put_object"}[argv[2]]
        print(s3.generate_presigned_url(method, Params={"Bucket": bucket, "Key": argv[3]}, ExpiresIn=3600))
        return 0
    if cmd == "curl-config":
        prefix, count, path = argv[2], int(argv[3]), argv[4]
        for i in range(count):
            url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": prefix + str(i)},
                                            ExpiresIn=3600)
            print('upload-file = "%s"\nurl = "%s"\noutput = "/dev/null"' % (path, url))
        return 0
    if cmd == "put-file":
        start = usage()
        s3.upload_file(argv[2], bucket, argv[3])
        report("boto3", "upload_file", os.path.getsize(argv[2]), 1, start)
        return 0
    if cmd == "put-object":
        start = usage()
        with open(argv[2], "rb") as f:
            s3.put_object(Bucket=bucket, Key=argv[3], Body=f)
        report("boto3", "put_object", os.path.getsize(argv[2]), 1, start)
        return 0
    if cmd == "get-file":
        start = usage()
        s3.download_file(bucket, argv[2], argv[3])
        report("boto3", "download_file", os.path.getsize(argv[3]), 1, start)
        return 0
    if cmd == "small-puts":
        count, size, prefix = int(argv[2]), int(argv[3]), argv[4]
        body = b"x" * size
        s3.put_object(Bucket=bucket, Key=prefix + "warmup", Body=body)  # first connection not counted
        start = usage()
        for i in range(count):
            s3.put_object(Bucket=bucket, Key=prefix + str(i), Body=body)
        report("boto3", "small-puts", count * size, count, start)
        return 0
    if cmd == "delete-prefix":
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=argv[2]):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
