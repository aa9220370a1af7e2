# A development account: cheap, short retention, easy to tear down.
#   terraform plan -var-file=envs/dev.tfvars   (with examples/remote-state/backend.hcl's key ".../dev/...")
# Only the knobs teams usually change; every other variable keeps its default (README "Configuration").
name_prefix = "wildrydes-dev"
aws_region  = "us-east-1"
tags = {
  Environment = "dev"
  Owner       = "data-team"
}

# Lets `terraform destroy` empty the data bucket: fine for dev, never for prod.
data_bucket_force_destroy = true

log_retention_days           = 7
inference_log_retention_days = 30
log_level                    = "DEBUG"
alarm_topic_enabled          = false

# Athena: a smaller runaway-query cutoff (1 GiB) in dev.
athena_bytes_scanned_cutoff_per_query = 1073741824
weather_years                         = [2017]

# Serving: numpy scoring (no MXNet layer) starts faster; low API limits.
inference_engine              = "numpy"
inference_throttle_rate_limit = 5
inference_quota_limit         = 10000
