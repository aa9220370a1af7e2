# Watching the inference API: a dashboard and alarms (API 5XX and 4XX rates, p99 latency, function errors and
# throttles, rejected model publishes), notifying the same SNS topic as the ETL's alarms (alarm_topic_arn).
# The function's own metrics (namespace WildRydes, EMF lines written by Powertools Metrics) are named in
# lambda_src/wildrydes_lambda/contracts/metrics.py; tests/terraform/test_contracts.py keeps both in step.

locals {
  metrics_namespace = "WildRydes"
  api_dimensions    = { ApiName = aws_api_gateway_rest_api.this.name, Stage = local.stage_name }
  fn_dimensions     = { FunctionName = module.function.function_name }
  alarm_actions     = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]

  # name => alarm; every alarm reads one metric over alarm_period_seconds x alarm_evaluation_periods.
  inference_alarms = {
    api-5xx-rate = {
      description = "More than ${var.alarm_5xx_rate_threshold * 100}% of API requests answered 5XX: look at the function's errors and logs."
      namespace   = "AWS/ApiGateway", metric = "5XXError", dimensions = local.api_dimensions
      statistic   = "Average", extended_statistic = null, threshold = var.alarm_5xx_rate_threshold
    }
    api-4xx-rate = {
      description = "More than ${var.alarm_4xx_rate_threshold * 100}% of API requests answered 4XX: a client sends bad requests (or keys, or exceeds its quota)."
      namespace   = "AWS/ApiGateway", metric = "4XXError", dimensions = local.api_dimensions
      statistic   = "Average", extended_statistic = null, threshold = var.alarm_4xx_rate_threshold
    }
    api-p99-latency = {
      description = "p99 API latency above ${var.alarm_p99_latency_ms} ms."
      namespace   = "AWS/ApiGateway", metric = "Latency", dimensions = local.api_dimensions
      statistic   = null, extended_statistic = "p99", threshold = var.alarm_p99_latency_ms
    }
    function-errors = {
      description = "The inference function failed invocations (it answers every request itself, so this is a crash or timeout)."
      namespace   = "AWS/Lambda", metric = "Errors", dimensions = local.fn_dimensions
      statistic   = "Sum", extended_statistic = null, threshold = var.alarm_function_errors_threshold
    }
    function-throttles = {
      description = "The inference function was throttled (reserved concurrency or the account limit)."
      namespace   = "AWS/Lambda", metric = "Throttles", dimensions = local.fn_dimensions
      statistic   = "Sum", extended_statistic = null, threshold = var.alarm_function_throttles_threshold
    }
    model-rejected = {
      description = "A published model failed to load or validate and was rejected; the previous model keeps serving (see the function's log for the reason, `wildrydes models list`)."
      namespace   = local.metrics_namespace, metric = "ModelRejects"
      dimensions  = { service = module.function.function_name }
      statistic   = "Sum", extended_statistic = null, threshold = var.alarm_model_rejects_threshold
    }
  }

  dashboard_widget_width  = 12
  dashboard_widget_height = 6
  model_metric_search     = "{${local.metrics_namespace},model_version,service} service=\"${module.function.function_name}\""
  inference_widgets = [
    { title = "API requests, 4XX, 5XX", stat = "Sum", metrics = [
      ["AWS/ApiGateway", "Count", "ApiName", local.api_dimensions.ApiName, "Stage", local.stage_name],
      ["AWS/ApiGateway", "4XXError", "ApiName", local.api_dimensions.ApiName, "Stage", local.stage_name],
      ["AWS/ApiGateway", "5XXError", "ApiName", local.api_dimensions.ApiName, "Stage", local.stage_name],
    ] },
    { title = "API latency p50 / p99 (ms)", stat = "p99", metrics = [
      ["AWS/ApiGateway", "Latency", "ApiName", local.api_dimensions.ApiName, "Stage", local.stage_name, { stat = "p50" }],
      ["AWS/ApiGateway", "Latency", "ApiName", local.api_dimensions.ApiName, "Stage", local.stage_name],
    ] },
    { title = "Function invocations, errors, throttles", stat = "Sum", metrics = [
      for m in ["Invocations", "Errors", "Throttles"] : ["AWS/Lambda", m, "FunctionName", module.function.function_name]
    ] },
    { title = "Model loads and rejects", stat = "Sum", metrics = [
      for m in ["ModelLoads", "ModelRejects"] : [local.metrics_namespace, m, "service", module.function.function_name]
    ] },
    { title = "Predictions by label and model version", stat = "Sum", metrics = [
      [{ expression = "SEARCH('${local.model_metric_search} MetricName=(\"PredictedLabel0\" OR \"PredictedLabel1\")', 'Sum', 60)", id = "labels" }],
    ] },
    { title = "Scores by bucket (predictions per 0.2 of score)", stat = "Sum", metrics = [
      [{ expression = "SEARCH('${local.model_metric_search} MetricName=Score', 'Sum', 60)", id = "scores" }],
    ] },
  ]
}

resource "aws_cloudwatch_metric_alarm" "inference" {
  for_each = local.inference_alarms

  alarm_name          = "${var.name_prefix}-inference-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  extended_statistic  = each.value.extended_statistic
  period              = var.alarm_period_seconds
  evaluation_periods  = var.alarm_evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching" # no traffic (or no reject) is not a problem
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_dashboard" "inference" {
  dashboard_name = "${var.name_prefix}-inference"
  dashboard_body = jsonencode({
    widgets = [
      for i, w in local.inference_widgets : {
        type   = "metric"
        x      = (i % 2) * local.dashboard_widget_width
        y      = floor(i / 2) * local.dashboard_widget_height
        width  = local.dashboard_widget_width
        height = local.dashboard_widget_height
        properties = {
          title   = w.title
          metrics = w.metrics
          stat    = w.stat
          period  = var.alarm_period_seconds
          region  = data.aws_region.current.name
          view    = "timeSeries"
        }
      }
    ]
  })
}
