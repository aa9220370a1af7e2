# Dashboard and alarms. A message in a dead-letter queue means a ride batch (or a whole S3 event) needs
# attention, so each DLQ gets an alarm when it is not empty and another before SQS's retention deletes its
# oldest message; each function gets Errors and Throttles alarms, ingest one on its duration nearing its
# timeout. Every alarm notifies the SNS topic (on by default, KMS-encrypted) and its description names the
# command that fixes the condition. The dashboard shows the flow end to end.

locals {
  dlqs = {
    ingest-dlq        = var.queues.ingest.dlq_name
    groundstation-dlq = var.queues.groundstation.dlq_name
    ingest-events-dlq = var.queues.ingest_events.name
  }
  work_queues = [var.queues.ingest.name, var.queues.groundstation.name]

  # Retention of each DLQ (seconds) when the queues contract carries it (null: the SQS maximum, 14 days).
  sqs_max_retention_seconds = 1209600
  dlq_retention = {
    ingest-dlq        = coalesce(var.queues.ingest.dlq_retention_seconds, local.sqs_max_retention_seconds)
    groundstation-dlq = coalesce(var.queues.groundstation.dlq_retention_seconds, local.sqs_max_retention_seconds)
    ingest-events-dlq = coalesce(var.queues.ingest_events.retention_seconds, local.sqs_max_retention_seconds)
  }

  # The command that replays each DLQ (wildrydes redrive: a queue's DLQ into the queue, the ingest-events DLQ
  # into ingest, found through its dead_letter_config).
  redrive_commands = { for k, name in local.dlqs : k => "wildrydes redrive --dlq ${name}" }
  # Where each function's failures end up after their retries.
  function_dlq = { ingest = "ingest-events-dlq", enrich = "ingest-dlq", writer = "groundstation-dlq" }
  dlq_meaning = {
    ingest-dlq        = "ride batches enrich failed on maxReceiveCount times"
    groundstation-dlq = "ride batches the writer failed on maxReceiveCount times"
    ingest-events-dlq = "S3 events of raw files ingest failed on after Lambda's retries (the redrive re-invokes ingest with each; ingest is idempotent per object version)"
  }

  # Lambda metrics are judged over 5 minutes; the DLQ metrics per minute (SQS publishes them every minute).
  function_alarm_period = 300
  ms_per_second         = 1000
  ingest_duration_threshold_ms = floor(
    var.functions.ingest.timeout_seconds * local.ms_per_second * var.ingest_duration_alarm_fraction
  )
  alarm_actions = var.alarm_topic_enabled ? [aws_sns_topic.alarms[0].arn] : []

  # Every alarm of the module: name suffix => metric, statistic, threshold and the fixing command.
  function_alarms = merge(
    { for f in local.function_keys : "${f}-errors" => {
      function  = f
      metric    = "Errors"
      threshold = var.function_errors_alarm_threshold
      statistic = "Sum"
      description = join(" ", [
        "${module.function[f].function_name} failed invocations: read its log group ${module.function[f].log_group_name}",
        "and fix the cause; what failed past its retries is in ${local.dlqs[local.function_dlq[f]]}:",
        "`${local.redrive_commands[local.function_dlq[f]]}`.",
      ])
    } },
    { for f in local.function_keys : "${f}-throttles" => {
      function  = f
      metric    = "Throttles"
      threshold = var.function_throttles_alarm_threshold
      statistic = "Sum"
      description = join(" ", [
        "${module.function[f].function_name} was throttled (its reserved concurrency or the account's concurrency quota):",
        "raise the reserved concurrency (functions.${f}.reserved_concurrency, `terraform apply`) or the quota;",
        "what ran out of retries is in ${local.dlqs[local.function_dlq[f]]}: `${local.redrive_commands[local.function_dlq[f]]}`.",
      ])
    } },
    { "ingest-duration" = {
      function  = "ingest"
      metric    = "Duration"
      threshold = local.ingest_duration_threshold_ms
      statistic = "Maximum"
      description = join(" ", [
        "An ingest run took more than ${var.ingest_duration_alarm_fraction * 100}% of its ${var.functions.ingest.timeout_seconds} s",
        "timeout: a larger file will time out. Give ingest more memory, which also gives it more CPU",
        "(`terraform apply -var ingest_memory_mb=<more>`), or a longer timeout (`-var ingest_timeout_seconds=<more>`);",
        "files that timed out are in ${local.dlqs["ingest-events-dlq"]}: `${local.redrive_commands["ingest-events-dlq"]}`.",
      ])
    } },
  )

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
      metrics = [for q in concat(local.work_queues, values(local.dlqs)) : ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q]]
      stat    = "Maximum"
    },
    {
      title   = "Throttles"
      metrics = [for f in keys(local.functions) : ["AWS/Lambda", "Throttles", "FunctionName", module.function[f].function_name]]
      stat    = "Sum"
    },
    {
      title   = "Duration, maximum (ms)"
      metrics = [for f in keys(local.functions) : ["AWS/Lambda", "Duration", "FunctionName", module.function[f].function_name]]
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

# ---------------------------------------------------------------------------- notifications
locals {
  # The account (and partition) the key belongs to, read from a queue ARN: no API call, so plans stay offline.
  queue_arn_parts = split(":", var.queues.ingest.arn)
  account_root    = "arn:${local.queue_arn_parts[1]}:iam::${local.queue_arn_parts[4]}:root"
  # The topic's key: the caller's CMK, else one made here (the AWS-managed aws/sns key cannot be used: its
  # policy does not let CloudWatch alarms publish).
  create_topic_key             = var.alarm_topic_enabled && var.alarm_topic_kms_key_arn == null
  topic_key_arn                = local.create_topic_key ? aws_kms_key.alarms[0].arn : var.alarm_topic_kms_key_arn
  kms_key_deletion_window_days = 7
}

data "aws_iam_policy_document" "alarm_topic_key" {
  count = local.create_topic_key ? 1 : 0

  #checkov:skip=CKV_AWS_109:A key policy's "Resource": "*" means this key; the account's administrators keep control of it.
  #checkov:skip=CKV_AWS_111:A key policy's "Resource": "*" means this key; write access is the account root's (IAM decides).
  #checkov:skip=CKV_AWS_356:A key policy's "Resource": "*" means this key, not every resource.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [local.account_root]
    }
  }
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "alarms" {
  count = local.create_topic_key ? 1 : 0

  description             = "${var.name_prefix} alarm topic: SNS encryption that CloudWatch alarms can publish to"
  enable_key_rotation     = true
  deletion_window_in_days = local.kms_key_deletion_window_days
  policy                  = data.aws_iam_policy_document.alarm_topic_key[0].json
  tags                    = var.tags
}

resource "aws_kms_alias" "alarms" {
  count = local.create_topic_key ? 1 : 0

  name          = "alias/${var.name_prefix}-etl-alarms"
  target_key_id = aws_kms_key.alarms[0].key_id
}

resource "aws_sns_topic" "alarms" {
  count = var.alarm_topic_enabled ? 1 : 0

  name              = "${var.name_prefix}-etl-alarms"
  kms_master_key_id = local.topic_key_arn
  tags              = var.tags
}

# E-mail subscriptions: AWS mails each address a confirmation link; nothing is delivered until it is clicked.
resource "aws_sns_topic_subscription" "alarm_email" {
  for_each = var.alarm_topic_enabled ? toset(var.alarm_emails) : toset([])

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = each.value
}

# ---------------------------------------------------------------------------- alarms
resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  for_each = local.dlqs

  alarm_name          = "${var.name_prefix}-${each.key}-not-empty"
  alarm_description   = "Messages in ${each.value} (${local.dlq_meaning[each.key]}): inspect them, fix the cause, then `${local.redrive_commands[each.key]}`."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = local.metric_period
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.dlq_alarm_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# Before SQS deletes a dead letter (after the DLQ's retention), its age crosses dlq_max_message_age_seconds.
resource "aws_cloudwatch_metric_alarm" "dlq_message_age" {
  for_each = local.dlqs

  alarm_name = "${var.name_prefix}-${each.key}-oldest-message-age"
  alarm_description = join(" ", [
    "The oldest message in ${each.value} (${local.dlq_meaning[each.key]}) is older than ${var.dlq_max_message_age_seconds} s;",
    "SQS deletes it ${local.dlq_retention[each.key]} s after it arrived. Fix the cause, then `${local.redrive_commands[each.key]}`.",
  ])
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = local.metric_period
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.dlq_max_message_age_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags

  lifecycle {
    precondition {
      condition     = var.dlq_max_message_age_seconds < local.dlq_retention[each.key]
      error_message = "dlq_max_message_age_seconds (${var.dlq_max_message_age_seconds}) must be below the retention of ${each.value} (${local.dlq_retention[each.key]} s), or messages expire before the alarm fires."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "function" {
  for_each = local.function_alarms

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/Lambda"
  metric_name         = each.value.metric
  dimensions          = { FunctionName = module.function[each.value.function].function_name }
  statistic           = each.value.statistic
  period              = local.function_alarm_period
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching" # no invocations is not a problem
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}
