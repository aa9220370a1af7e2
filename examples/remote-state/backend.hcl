# S3 backend settings for the root module, used as: terraform init -backend-config=examples/remote-state/backend.hcl
# (with `terraform { backend "s3" {} }` in the root, see README.md). Terraform >= 1.10: use_lockfile = true takes
# an S3-native lock file <key>.tflock next to the state (conditional writes), so no DynamoDB table is needed.
bucket       = "wildrydes-tfstate-123456789012" # the bootstrap module's state_bucket_name
key          = "wildrydes-ml/dev/terraform.tfstate"
region       = "us-east-1"
encrypt      = true
use_lockfile = true
