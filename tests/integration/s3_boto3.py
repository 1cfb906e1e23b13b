#!/usr/bin/python3
"""boto3 side of the interop test (run with Debian's /usr/bin/python3).

  s3_boto3.py describe BUCKET KEY
      prints JSON: sha256, size, content_type, metadata, cache_control,
      content_disposition of the object as boto3 reads it
  s3_boto3.py put BUCKET KEY FILE CONTENT_TYPE METADATA_JSON single|multipart
      uploads FILE with put_object or (multipart) upload_file in 5 MiB parts

The endpoint and keys come from MINIO_ENDPOINT, MINIO_ACCESS_KEY and
MINIO_SECRET_KEY; path-style addressing.
"""
import hashlib
import json
import os
import sys

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config


def client():
    return boto3.client(
        "s3",
        endpoint_url=os.environ["MINIO_ENDPOINT"],
        aws_access_key_id=os.environ["MINIO_ACCESS_KEY"],
        aws_secret_access_key=os.environ["MINIO_SECRET_KEY"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard"}),
    )


def describe(bucket, key):
    obj = client().get_object(Bucket=bucket, Key=key)
    body = obj["Body"].read()
    print(json.dumps({
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
        "content_type": obj.get("ContentType", ""),
        "metadata": obj.get("Metadata", {}),
        "cache_control": obj.get("CacheControl", ""),
        "content_disposition": obj.get("ContentDisposition", ""),
    }, sort_keys=True))


def put(bucket, key, path, content_type, metadata_json, mode):
    metadata = json.loads(metadata_json)
    s3 = client()
    if mode == "multipart":
        cfg = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20)
        s3.upload_file(path, bucket, key, ExtraArgs={"ContentType": content_type, "Metadata": metadata}, Config=cfg)
    else:
        with open(path, "rb") as f:
            s3.put_object(Bucket=bucket, Key=key, Body=f.read(), ContentType=content_type, Metadata=metadata)
    print("ok")


def main(argv):
    if len(argv) >= 3 and argv[0] == "describe":
        describe(argv[1], argv[2])
    elif len(argv) == 7 and argv[0] == "put":
        put(*argv[1:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
