# Inference API: the MXNet layer (staged in S3), the scoring function, and a REST API (POST /) guarded by an
# API key with a throttled, quota'd usage plan and access logging.

data "aws_region" "current" {} # the dashboard widgets name the region
data "aws_partition" "current" {}

locals {
  function_short_name = "inference" # the function is <name_prefix>-inference (modules/lambda_function)
  stage_name          = "prod"
  use_layer           = var.inference_engine == "mxnet"
  partition           = data.aws_partition.current.partition
  bucket_arn          = "arn:${local.partition}:s3:::${var.data_bucket_name}"

  # try(): a missing layer_zip_path is reported by the precondition below, not as a function error.
  layer_md5    = try(filemd5(var.layer_zip_path), "")
  layer_sha256 = try(filebase64sha256(var.layer_zip_path), "")

  # Workshop payload, used in the curl example output.
  example_payload = jsonencode({ distance = 30, TMAX = 333, TMIN = 300, PRCP = 100 })
}
