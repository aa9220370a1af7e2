# Dashboard and alarms: a message in a dead-letter queue means a ride batch (or a whole S3 event)
# needs attention, so each DLQ gets an alarm; the dashboard shows the flow end to end.

locals {
  dlqs = {
    ingest-dlq        = var.queues.ingest.dlq_name
    groundstation-dlq = var.queues.groundstation.dlq_name
    ingest-events-dlq = var.queues.ingest_events.name
  }
  work_queues = [var.queues.ingest.name, var.queues.groundstation.name]

  # Dashboard layout: widgets are 12 of the 24 grid units wide.
  widget_width  = 12
  widget_height = 6
  metric_period = 60

  dashboard_widgets = [
    {
      title   = "Invocations"
      metrics = [for f in keys(local.functions) : ["AWS/Lambda", "Invocations", "FunctionName", module.function[f].function_name]]
      stat    = "Sum"
    },
    {
      title   = "Errors"
      metrics = [for f in keys(local.functions) : ["AWS/Lambda", "Errors", "FunctionName", module.function[f].function_name]]
      stat    = "Sum"
    },
    {
      title   = "Queue depth (visible messages)"
      metrics = [for q in concat(local.work_queues, values(local.dlqs)) : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q]]
      stat    = "Maximum"
    },
    {
      title   = "Age of oldest message (s)"
      metrics = [for q in local.work_queues : ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q]]
      stat    = "Maximum"
    },
  ]
}

resource "aws_cloudwatch_dashboard" "etl" {
  dashboard_name = "${var.name_prefix}-etl"
  dashboard_body = jsonencode({
    widgets = [
      for i, w in local.dashboard_widgets : {
        type   = "metric"
        x      = (i % 2) * local.widget_width
        y      = floor(i / 2) * local.widget_height
        width  = local.widget_width
        height = local.widget_height
        properties = {
          title   = w.title
          metrics = w.metrics
          stat    = w.stat
          period  = local.metric_period
          region  = data.aws_region.current.name
          view    = "timeSeries"
        }
      }
    ]
  })
}

resource "aws_sns_topic" "alarms" {
  count = var.alarm_topic_enabled ? 1 : 0

  #checkov:skip=CKV_AWS_26:The AWS-managed aws/sns key does not let CloudWatch alarms publish; pass alarm_topic_kms_key_arn (a CMK granting cloudwatch.amazonaws.com) to encrypt.
  name              = "${var.name_prefix}-etl-alarms"
  kms_master_key_id = var.alarm_topic_kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  for_each = local.dlqs

  alarm_name          = "${var.name_prefix}-${each.key}-not-empty"
  alarm_description   = "Messages in ${each.value}: inspect them, fix the cause, then `wildrydes redrive` them."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = local.metric_period
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.dlq_alarm_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = aws_sns_topic.alarms[*].arn
  ok_actions          = aws_sns_topic.alarms[*].arn
  tags                = var.tags
}
