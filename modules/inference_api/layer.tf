# The MXNet layer: staged in the data bucket under the layout's artifacts prefix, published for the
# deployed runtime and architecture (only with inference_engine = mxnet).

resource "aws_s3_object" "layer" {
  count = local.use_layer ? 1 : 0

  bucket = var.data_bucket_name
  # Content-addressed key: a rebuilt layer is a new object and a new layer version, the old one stays valid.
  key                    = "${var.layout.artifacts}mxnet-layer-${local.layer_md5}.zip"
  source                 = var.layer_zip_path
  source_hash            = local.layer_md5
  server_side_encryption = var.data_bucket_kms_key_arn == null ? "AES256" : "aws:kms"
  kms_key_id             = var.data_bucket_kms_key_arn
  tags                   = var.tags

  lifecycle {
    precondition {
      condition     = local.layer_md5 != ""
      error_message = "layer_zip_path must name an existing zip when inference_engine is mxnet (run `make package`)."
    }
  }
}

resource "aws_lambda_layer_version" "mxnet" {
  count = local.use_layer ? 1 : 0

  layer_name               = "${var.name_prefix}-mxnet"
  description              = "MXNet 1.9.1 + numpy 2.4.6 for ${var.runtime} (trimmed for inference)."
  s3_bucket                = aws_s3_object.layer[0].bucket
  s3_key                   = aws_s3_object.layer[0].key
  compatible_runtimes      = [var.runtime]
  compatible_architectures = var.architectures
  source_code_hash         = local.layer_sha256
}
