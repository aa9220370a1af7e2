"""`wildrydes predict`: score a request locally with exactly the code the inference Lambda runs.

    wildrydes predict --model build/model/model.tar.gz '{"distance": 30, "TMAX": 333, "TMIN": 300, "PRCP": 100}'
    wildrydes predict --model s3://BUCKET/models/linear-learner/latest/model.tar.gz --engine numpy '{...}'
    printf '30,300,333,100\n1,0,0,0\n' | wildrydes predict --model build/model/model.tar.gz \
        --content-type text/csv --accept application/jsonlines -

The model is a ``model.tar.gz`` (or a directory of extracted module files) on disk or in S3; its
``metadata.json`` (feature order, units, threshold, version) is taken from next to it unless --metadata
says otherwise. The request is anything the API accepts (``--content-type``: application/json in any of
its shapes, text/csv or application/jsonlines; see openapi.yaml and wildrydes_lambda.serving.request); the
output is the API's response body in the format ``--accept`` chooses (JSON by default, or JSON Lines). ``-``
reads the request from stdin.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from wildrydes.errors import CommandError
from wildrydes_lambda import aws
from wildrydes_lambda.model_format import linear_learner
from wildrydes_lambda.serving import engine as inference_engine
from wildrydes_lambda.serving.model_cache import ModelUnavailable, build_loaded_model
from wildrydes_lambda.serving.request import (
    DEFAULT_MAX_BATCH,
    JSON_MEDIA_TYPE,
    JSONLINES_MEDIA_TYPE,
    REQUEST_MEDIA_TYPES,
    RESPONSE_MEDIA_TYPES,
    DecodedBody,
    HttpBody,
    RequestError,
    decode_body,
    negotiate_response_type,
    parse_body,
    predictions_body,
    predictions_lines,
    render_jsonlines,
    request_media_type,
)
from wildrydes_lambda.serving.service import METADATA_FILE_NAME, default_metadata_key

S3_SCHEME = aws.S3_SCHEME


def _split_s3(uri: str) -> tuple[str, str]:
    """(bucket, key) of an object URI (the one parser, ``aws.parse_s3_uri``); a key is required here."""
    try:
        bucket, key = aws.parse_s3_uri(uri)
    except ValueError:
        bucket, key = "", ""
    if not bucket or not key:
        raise CommandError(f"bad S3 URI {uri!r} (expected s3://BUCKET/KEY)")
    return bucket, key


def _s3_client():
    return aws.make_client("s3")


def _fetch(location: str, dest: Path) -> Path:
    """A local path as is; an s3:// object downloaded to ``dest``."""
    if not location.startswith(S3_SCHEME):
        path = Path(location)
        if not path.exists():
            raise CommandError(f"{location} not found")
        return path
    bucket, key = _split_s3(location)
    try:
        _s3_client().download_file(bucket, key, str(dest))
    except Exception as exc:  # botocore ClientError/NoCredentialsError: one line for the user
        raise CommandError(f"cannot download {location}: {exc}") from exc
    return dest


def default_metadata_location(model: str) -> str:
    if model.startswith(S3_SCHEME):
        bucket, key = _split_s3(model)
        return f"{S3_SCHEME}{bucket}/{default_metadata_key(key)}"
    path = Path(model)
    return str((path if path.is_dir() else path.parent) / METADATA_FILE_NAME)


def _user_error(exc: RequestError) -> CommandError:
    return CommandError(f"{exc.message} (HTTP {exc.status} {exc.code})")


def _read_request(text: str, content_type: str) -> DecodedBody:
    """The request text (``-``: stdin) parsed as the API parses a body of ``content_type``."""
    if text == "-":
        text = sys.stdin.read()
    try:
        return decode_body(HttpBody(request_media_type(content_type), text))
    except RequestError as exc:
        raise _user_error(exc) from exc


def predict(
    model: str,
    request_text: str,
    metadata: str | None = None,
    engine: str = inference_engine.ENGINE_MXNET,
    max_batch: int = DEFAULT_MAX_BATCH,
    content_type: str = JSON_MEDIA_TYPE,
    accept: str = JSON_MEDIA_TYPE,
) -> dict[str, Any] | list[dict[str, Any]]:
    """The API's response body for ``request_text`` scored by ``model`` (path or s3:// URI): the JSON object,
    or the list of JSON Lines records when ``accept`` asks for JSON Lines."""
    try:
        response_type = negotiate_response_type(accept)
    except RequestError as exc:
        raise _user_error(exc) from exc
    payload = _read_request(request_text, content_type)
    work = Path(tempfile.mkdtemp(prefix="wildrydes-predict-"))
    try:
        model_path = _fetch(model, work / "model.tar.gz")
        metadata_path = _fetch(metadata or default_metadata_location(model), work / METADATA_FILE_NAME)
        try:
            meta = json.loads(metadata_path.read_text())
        except ValueError as exc:
            raise CommandError(f"{metadata_path} is not JSON ({exc})") from exc
        if not isinstance(meta, dict):
            raise CommandError(f"{metadata_path} is not a JSON object")
        try:
            model_dir = (
                model_path if model_path.is_dir() else linear_learner.extract_artifact(model_path, work / "x")
            )
            loaded = build_loaded_model(model_dir, meta, engine)
        except (linear_learner.ArtifactError, ModelUnavailable) as exc:
            raise CommandError(str(exc)) from exc
        try:
            request = parse_body(payload, loaded.schema, max_batch)
        except RequestError as exc:
            raise _user_error(exc) from exc
        scores = loaded.engine.score(request.rows)
        if response_type == JSONLINES_MEDIA_TYPE:
            return predictions_lines(scores, loaded.threshold)
        return predictions_body(scores, loaded.threshold, loaded.model_version)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args) -> int:
    body = predict(
        args.model, args.request, args.metadata, args.engine, args.max_batch, args.content_type, args.accept
    )
    if isinstance(body, list):
        sys.stdout.write(render_jsonlines(body))
    else:
        print(json.dumps(body))
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="score a request locally with the inference function's code",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "--model", required=True, help="model.tar.gz or extracted dir: local path or s3://BUCKET/KEY"
    )
    parser.add_argument(
        "--metadata", help=f"metadata.json (path or s3://); default: {METADATA_FILE_NAME} next to --model"
    )
    parser.add_argument(
        "--engine",
        choices=inference_engine.ENGINES,
        default=inference_engine.ENGINE_MXNET,
        help="scoring engine (default: mxnet, as the function)",
    )
    parser.add_argument(
        "--max-batch", type=int, default=DEFAULT_MAX_BATCH, help="largest accepted instances list"
    )
    parser.add_argument(
        "--content-type",
        default=JSON_MEDIA_TYPE,
        metavar="TYPE",
        help=f"request media type: {', '.join(REQUEST_MEDIA_TYPES)} (default: %(default)s)",
    )
    parser.add_argument(
        "--accept",
        default=JSON_MEDIA_TYPE,
        metavar="TYPE",
        help=f"response media type: {', '.join(RESPONSE_MEDIA_TYPES)} (default: %(default)s)",
    )
    parser.add_argument("request", help="the request body (any format the API accepts), or - for stdin")
    parser.set_defaults(func=run)
