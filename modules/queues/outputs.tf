output "ingest_queue_url" {
  description = "URL of the ingest queue (ingest -> enrich)."
  value       = aws_sqs_queue.work["ingest"].url
}

output "ingest_queue_arn" {
  description = "ARN of the ingest queue."
  value       = aws_sqs_queue.work["ingest"].arn
}

output "ingest_queue_name" {
  description = "Name of the ingest queue."
  value       = aws_sqs_queue.work["ingest"].name
}

output "ingest_dlq_url" {
  description = "URL of the ingest queue's dead-letter queue."
  value       = aws_sqs_queue.dlq["ingest"].url
}

output "ingest_dlq_arn" {
  description = "ARN of the ingest queue's dead-letter queue."
  value       = aws_sqs_queue.dlq["ingest"].arn
}

output "ingest_dlq_name" {
  description = "Name of the ingest queue's dead-letter queue."
  value       = aws_sqs_queue.dlq["ingest"].name
}

output "groundstation_queue_url" {
  description = "URL of the ground-station queue (enrich -> writer)."
  value       = aws_sqs_queue.work["groundstation"].url
}

output "groundstation_queue_arn" {
  description = "ARN of the ground-station queue."
  value       = aws_sqs_queue.work["groundstation"].arn
}

output "groundstation_queue_name" {
  description = "Name of the ground-station queue."
  value       = aws_sqs_queue.work["groundstation"].name
}

output "groundstation_dlq_url" {
  description = "URL of the ground-station queue's dead-letter queue."
  value       = aws_sqs_queue.dlq["groundstation"].url
}

output "groundstation_dlq_arn" {
  description = "ARN of the ground-station queue's dead-letter queue."
  value       = aws_sqs_queue.dlq["groundstation"].arn
}

output "groundstation_dlq_name" {
  description = "Name of the ground-station queue's dead-letter queue."
  value       = aws_sqs_queue.dlq["groundstation"].name
}

output "ingest_events_dlq_url" {
  description = "URL of the queue receiving S3 events the ingest function failed on after Lambda's async retries."
  value       = aws_sqs_queue.ingest_events_dlq.url
}

output "ingest_events_dlq_arn" {
  description = "ARN of the ingest events dead-letter queue (the ingest function's dead_letter_config target)."
  value       = aws_sqs_queue.ingest_events_dlq.arn
}

output "ingest_events_dlq_name" {
  description = "Name of the ingest events dead-letter queue."
  value       = aws_sqs_queue.ingest_events_dlq.name
}

output "visibility_timeouts" {
  description = "Visibility timeout (seconds) of each work queue, keyed ingest / groundstation."
  value       = { for k, q in aws_sqs_queue.work : k => q.visibility_timeout_seconds }
}

output "queues" {
  description = "Every queue as one object per role, the contract etl_functions takes whole: ingest and groundstation (work queues with their DLQs) and ingest_events (the DLQ of failed S3 -> ingest events; no DLQ of its own). Each: arn, url, name, dlq_arn, dlq_name, plus the DLQ's retention (dlq_retention_seconds; retention_seconds for ingest_events) that bounds the DLQ-age alarms."
  value = merge(
    { for k, q in aws_sqs_queue.work : k => {
      arn                   = q.arn
      url                   = q.url
      name                  = q.name
      dlq_arn               = aws_sqs_queue.dlq[k].arn
      dlq_name              = aws_sqs_queue.dlq[k].name
      dlq_retention_seconds = aws_sqs_queue.dlq[k].message_retention_seconds
    } },
    { ingest_events = {
      arn               = aws_sqs_queue.ingest_events_dlq.arn
      url               = aws_sqs_queue.ingest_events_dlq.url
      name              = aws_sqs_queue.ingest_events_dlq.name
      dlq_arn           = null
      dlq_name          = null
      retention_seconds = aws_sqs_queue.ingest_events_dlq.message_retention_seconds
    } },
  )
}
