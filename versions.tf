terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 6.0"
    }
  }
}

provider "aws" {
  region = var.aws_region

  # Every resource carries the project tags; modules add only resource-specific ones.
  default_tags {
    tags = merge({ Project = "wildrydes-ml", ManagedBy = "terraform" }, var.tags)
  }
}
