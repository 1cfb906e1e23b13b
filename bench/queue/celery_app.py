"""The Celery 5.2 side of the queue benchmark (bench/queue/run.sh).

Debian's python3-celery on a Redis broker; the worker processes import this
module (`celery -A celery_app worker`). Configuration comes from the
environment:

  BENCH_CELERY_BROKER   redis://127.0.0.1:PORT/DB
  BENCH_CELERY_ACKS_LATE            "1" = task_acks_late + prefetch 1
  BENCH_CELERY_VISIBILITY_TIMEOUT   seconds (Redis transport option); unset =
                                    Celery's default (3600 s)
  BENCH_ENDPOINT, BENCH_ACCESS_KEY, BENCH_SECRET_KEY, BENCH_BUCKET   the RGW

Every task ends by incrementing a Redis counter so that the driver can see
when a batch is done (no result backend).
"""

import io
import os
import time

import redis
from celery import Celery

broker = os.environ["BENCH_CELERY_BROKER"]
app = Celery("msbench", broker=broker)
conf = dict(
    task_serializer="json",
    accept_content=["json"],
    worker_hijack_root_logger=False,
    task_ignore_result=True,
)
if os.environ.get("BENCH_CELERY_ACKS_LATE") == "1":
    conf.update(task_acks_late=True, worker_prefetch_multiplier=1)
if os.environ.get("BENCH_CELERY_VISIBILITY_TIMEOUT"):
    conf["broker_transport_options"] = {"visibility_timeout": int(os.environ["BENCH_CELERY_VISIBILITY_TIMEOUT"])}
app.conf.update(conf)

_redis = None
_s3 = None


def counter():
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(broker)
    return _redis


def s3():
    global _s3
    if _s3 is None:
        import boto3
        from botocore.config import Config

        _s3 = boto3.client(
            "s3",
            endpoint_url=os.environ["BENCH_ENDPOINT"],
            aws_access_key_id=os.environ["BENCH_ACCESS_KEY"],
            aws_secret_access_key=os.environ["BENCH_SECRET_KEY"],
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),
        )
    return _s3


@app.task
def noop(done_key):
    counter().incr(done_key)


# The three default thumbnail boxes of libmediastore (small, medium, large).
SIZES = (("small", (150, 150)), ("medium", (300, 300)), ("large", (800, 600)))


@app.task
def upload(path, key_prefix, done_key):
    """What the service's process_media_upload + generate_thumbnails did:
    Pillow with draft(), EXIF orientation, three LANCZOS thumbnails at q85,
    boto3 put_object of the original and the thumbnails."""
    from PIL import Image, ImageOps

    bucket = os.environ["BENCH_BUCKET"]
    with open(path, "rb") as f:
        original = f.read()
    client = s3()
    client.put_object(Bucket=bucket, Key=key_prefix + "original.jpg", Body=original, ContentType="image/jpeg")
    im = Image.open(io.BytesIO(original))
    im.draft("RGB", SIZES[-1][1])
    im = ImageOps.exif_transpose(im)
    if im.mode != "RGB":
        im = im.convert("RGB")
    for name, box in SIZES:
        t = im.copy()
        t.thumbnail(box, Image.LANCZOS)
        buf = io.BytesIO()
        t.save(buf, "JPEG", quality=85)
        client.put_object(
            Bucket=bucket, Key=key_prefix + "thumb_" + name + ".jpg", Body=buf.getvalue(), ContentType="image/jpeg"
        )
    counter().incr(done_key)


@app.task
def sleeper(marker, seconds):
    """Notes its start (pid, wall time) in `marker`, then works for `seconds`."""
    with open(marker, "a") as f:
        f.write("%d %.3f\n" % (os.getpid(), time.time()))
    time.sleep(seconds)
