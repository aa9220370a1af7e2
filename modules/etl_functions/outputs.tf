output "ingest_function_name" {
  description = "Name of the ingest function."
  value       = module.function["ingest"].function_name
}

output "ingest_function_arn" {
  description = "ARN of the ingest function (target of the raw/*.json S3 notification)."
  value       = module.function["ingest"].function_arn
}

output "enrich_function_name" {
  description = "Name of the enrich function."
  value       = module.function["enrich"].function_name
}

output "enrich_function_arn" {
  description = "ARN of the enrich function."
  value       = module.function["enrich"].function_arn
}

output "writer_function_name" {
  description = "Name of the writer function."
  value       = module.function["writer"].function_name
}

output "writer_function_arn" {
  description = "ARN of the writer function."
  value       = module.function["writer"].function_arn
}

output "role_arns" {
  description = "Execution role ARN per function (keys ingest, enrich, writer)."
  value       = { for k, f in module.function : k => f.role_arn }
}

output "log_group_names" {
  description = "CloudWatch log group per function (keys ingest, enrich, writer)."
  value       = { for k, f in module.function : k => f.log_group_name }
}

output "event_source_mapping_uuids" {
  description = "UUID of the SQS event source mapping per consumer (keys enrich, writer)."
  value       = { for k, m in aws_lambda_event_source_mapping.sqs : k => m.uuid }
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard of the ETL pipeline."
  value       = aws_cloudwatch_dashboard.etl.dashboard_name
}

output "dlq_alarm_names" {
  description = "Names of the dead-letter-queue alarms (keys ingest-dlq, groundstation-dlq, ingest-events-dlq)."
  value       = { for k, a in aws_cloudwatch_metric_alarm.dlq_not_empty : k => a.alarm_name }
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic every alarm notifies, or null when alarm_topic_enabled = false."
  value       = try(aws_sns_topic.alarms[0].arn, null)
}

output "alarm_topic_kms_key_arn" {
  description = "KMS key encrypting the alarm topic (the one created here unless alarm_topic_kms_key_arn was given); null without a topic."
  value       = var.alarm_topic_enabled ? local.topic_key_arn : null
}

output "dlq_age_alarm_names" {
  description = "Names of the oldest-message-age alarms of the dead-letter queues (keys ingest-dlq, groundstation-dlq, ingest-events-dlq)."
  value       = { for k, a in aws_cloudwatch_metric_alarm.dlq_message_age : k => a.alarm_name }
}

output "function_alarm_names" {
  description = "Names of the function alarms (keys <function>-errors, <function>-throttles, ingest-duration)."
  value       = { for k, a in aws_cloudwatch_metric_alarm.function : k => a.alarm_name }
}

output "redrive_commands" {
  description = "The command replaying each dead-letter queue (keys ingest-dlq, groundstation-dlq, ingest-events-dlq); the alarm descriptions name the same commands."
  value       = local.redrive_commands
}
