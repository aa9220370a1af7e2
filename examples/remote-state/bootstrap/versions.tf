terraform {
  # S3-native state locking (use_lockfile) needs Terraform >= 1.10; the bucket it creates is for such backends.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 6.0"
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge({ Project = "wildrydes-ml", ManagedBy = "terraform", Purpose = "terraform-state" }, var.tags)
  }
}
