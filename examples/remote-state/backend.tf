# Copy to the repository root as backend_override.tf to keep the root's state in S3:
#   cp examples/remote-state/backend.tf backend_override.tf
#   terraform init -backend-config=examples/remote-state/backend.hcl -migrate-state
# The settings are given at init (partial configuration), so one file serves every environment.
terraform {
  backend "s3" {}
}
