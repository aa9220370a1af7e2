output "training_role_arn" {
  description = "ARN of the SageMaker training execution role (pass as RoleArn to create_training_job)."
  value       = aws_iam_role.training.arn
}

output "training_role_name" {
  description = "Name of the SageMaker training execution role."
  value       = aws_iam_role.training.name
}

output "linear_learner_image_uri" {
  description = "Linear Learner training image for this region (null when the region is not in linear_learner_image_accounts)."
  value       = local.linear_learner_image
}

output "training_input_s3_uri" {
  description = "S3 URI prefix for the training CSV channels the role may read."
  value       = "s3://${var.data_bucket_name}/${var.layout.training}"
}

output "model_output_s3_uri" {
  description = "S3 URI prefix to use as OutputDataConfig.S3OutputPath (the role may write here)."
  value       = "s3://${var.data_bucket_name}/${var.layout.models}"
}

output "notebook_instance_name" {
  description = "Name of the notebook instance, null when enable_notebook is false."
  value       = try(aws_sagemaker_notebook_instance.notebook[0].name, null)
}

output "notebook_url" {
  description = "Jupyter URL of the notebook instance, null when enable_notebook is false."
  value       = try(aws_sagemaker_notebook_instance.notebook[0].url, null)
}

output "model_package_group_name" {
  description = "SageMaker Model Package Group that mirrors the serving model (pass to `wildrydes models promote --model-package-group` or set WILDRYDES_MODEL_PACKAGE_GROUP); null when model_package_group_enabled is false."
  value       = try(aws_sagemaker_model_package_group.models[0].model_package_group_name, null)
}
