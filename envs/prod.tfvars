# Production: keep data, longer log retention, alarms on, reserved capacity for the API.
#   terraform plan -var-file=envs/prod.tfvars   (with examples/remote-state/backend.hcl's key ".../prod/...")
# Only the knobs teams usually change; every other variable keeps its default (README "Configuration").
name_prefix = "wildrydes-prod"
aws_region  = "us-east-1"
tags = {
  Environment = "prod"
  Owner       = "data-team"
}

data_bucket_force_destroy = false
# data_bucket_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/..."   # SSE-KMS with your key

quarantine_expiration_days = 365
log_retention_days         = 90
log_level                  = "INFO"
alarm_topic_enabled        = true

weather_years = [2017, 2018]

inference_engine               = "mxnet"
inference_memory_mb            = 512
inference_reserved_concurrency = 20
inference_snapstart_enabled    = true
inference_throttle_rate_limit  = 50
inference_throttle_burst_limit = 100
inference_quota_limit          = 1000000
