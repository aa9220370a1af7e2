"""`wildrydes predict` scores with the function's code, from local files or S3 (moto)."""

from __future__ import annotations

import argparse
import json

import boto3
import pytest
from moto import mock_aws

from wildrydes import predict
from wildrydes.cli import CommandError
from wildrydes_lambda.model_format import linear_learner as ll

MODEL = ll.LinearModel(weights=(0.08, -0.004, 0.006, 0.002), bias=-2.0, threshold=0.4)
METADATA = {
    "model_version": "v-cli",
    "features": ["distance", "TMIN", "TMAX", "PRCP"],
    "threshold": 0.4,
    "units": {
        "distance": "miles",
        "TMIN": "tenths of degC",
        "TMAX": "tenths of degC",
        "PRCP": "tenths of mm",
    },
}
WORKSHOP = '{"distance": 30, "TMAX": 333, "TMIN": 300, "PRCP": 100}'
EXPECTED = MODEL.as_float32().score([[30, 300, 333, 100]])[0]


@pytest.fixture
def published_dir(tmp_path):
    ll.write_artifact(MODEL, tmp_path / "model.tar.gz")
    (tmp_path / "metadata.json").write_text(json.dumps(METADATA))
    return tmp_path


@pytest.mark.parametrize("engine", ["numpy", "mxnet"])
def test_cli_prints_the_api_response_for_a_local_model(published_dir, engine, capsys):
    parser = argparse.ArgumentParser()
    predict.register(parser.add_subparsers())
    args = parser.parse_args(
        ["predict", "--model", str(published_dir / "model.tar.gz"), "--engine", engine, WORKSHOP]
    )
    assert args.func(args) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["model_version"] == "v-cli"
    assert body["predictions"][0]["score"] == pytest.approx(EXPECTED, abs=1e-6)
    assert body["predictions"][0]["predicted_label"] == 1


def test_model_and_metadata_from_s3(published_dir, monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="models")
        s3.upload_file(str(published_dir / "model.tar.gz"), "models", "latest/model.tar.gz")
        s3.upload_file(str(published_dir / "metadata.json"), "models", "latest/metadata.json")
        body = predict.predict(
            "s3://models/latest/model.tar.gz",
            '{"instances": [{"features": [30, 300, 333, 100]}, {"features": [1, 0, 0, 0]}]}',
            engine="numpy",
        )
    assert body["predictions"][0]["score"] == pytest.approx(EXPECTED, abs=1e-6)
    assert len(body["predictions"]) == 2


@pytest.mark.parametrize(
    "request_text, message",
    [
        ('{"distance": "x", "TMAX": 333, "TMIN": 300, "PRCP": 100}', "distance must be a JSON number"),
        ("{oops", "not valid JSON"),
        ('{"TMAX": 333, "TMIN": 300, "PRCP": 100}', "distance"),
    ],
)
def test_bad_requests_are_one_line_user_errors(published_dir, request_text, message):
    with pytest.raises(CommandError, match=message):
        predict.predict(str(published_dir / "model.tar.gz"), request_text, engine="numpy")


def test_missing_metadata_is_a_user_error(published_dir):
    (published_dir / "metadata.json").unlink()
    with pytest.raises(CommandError, match="metadata.json not found"):
        predict.predict(str(published_dir / "model.tar.gz"), WORKSHOP, engine="numpy")


@pytest.mark.parametrize(
    "content_type, request_text",
    [
        ("text/csv", "distance,TMIN,TMAX,PRCP\n30,300,333,100\n1,0,0,0\n"),
        ("application/jsonlines", WORKSHOP + '\n{"features": [1, 0, 0, 0]}'),
    ],
)
def test_cli_takes_csv_and_json_lines_and_answers_json_lines(
    published_dir, content_type, request_text, capsys
):
    parser = argparse.ArgumentParser()
    predict.register(parser.add_subparsers())
    args = parser.parse_args(
        [
            "predict",
            "--model",
            str(published_dir / "model.tar.gz"),
            "--engine",
            "numpy",
            "--content-type",
            content_type,
            "--accept",
            "application/jsonlines",
            request_text,
        ]
    )
    assert args.func(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = MODEL.as_float32().score([[30, 300, 333, 100], [1, 0, 0, 0]])
    assert [line["score"] for line in lines] == pytest.approx(expected, abs=1e-6)
    assert lines[0]["heavy_utilization_percent"] == round(lines[0]["score"] * 100, 1)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"content_type": "text/csv", "request_text": "30,300,far,100"}, r"rows\[0\].TMAX must be a number"),
        ({"content_type": "text/plain", "request_text": "30,300,333,100"}, "Content-Type"),
        ({"accept": "text/html", "request_text": WORKSHOP}, "not_acceptable"),
    ],
)
def test_cli_format_errors_are_the_api_errors(published_dir, options, message):
    with pytest.raises(CommandError, match=message):
        predict.predict(str(published_dir / "model.tar.gz"), engine="numpy", **options)
