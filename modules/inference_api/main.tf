# Inference API: the MXNet layer (staged in S3), the scoring function, and a REST API (POST /) guarded by an
# API key with a throttled, quota'd usage plan and access logging.

data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  function_name = "${var.name_prefix}-inference"
  stage_name    = "prod"
  use_layer     = var.inference_engine == "mxnet"
  partition     = data.aws_partition.current.partition
  bucket_arn    = "arn:${local.partition}:s3:::${var.data_bucket_name}"
  # Built from the account id when given so the policy is fully known at plan time (see var.account_id).
  function_log_group_arn = (var.account_id == null ? aws_cloudwatch_log_group.function.arn :
  "arn:${local.partition}:logs:${data.aws_region.current.name}:${var.account_id}:log-group:${aws_cloudwatch_log_group.function.name}")

  # try(): a missing layer_zip_path is reported by the precondition below, not as a function error.
  layer_md5    = try(filemd5(var.layer_zip_path), "")
  layer_sha256 = try(filebase64sha256(var.layer_zip_path), "")

  # Workshop payload, used in the curl example output.
  example_payload = jsonencode({ distance = 30, TMAX = 333, TMIN = 300, PRCP = 100 })
}
