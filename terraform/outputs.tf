# tfdoc:file:description Outputs, in alphabetical order.

output "buckets" {
  description = "Bucket names: renders (stored images), requests (uploads that trigger render_storage) and source (function archives)."
  value = {
    renders  = google_storage_bucket.renders.name
    requests = google_storage_bucket.requests.name
    source   = google_storage_bucket.source.name
  }
}

output "chat_apps" {
  description = "What to enter when registering the chat apps (docs/chat.md): Slack's Request URL, and Google Chat's HTTP endpoint URL and, for the endpoint-url audience, its Authentication audience."
  value = {
    google_chat_audience     = var.chat.google_audience == "endpoint-url" ? local.run_urls.chat_google : var.chat.google_audience == "project-number" ? data.google_project.main.number : null
    google_chat_endpoint_url = local.run_urls.chat_google
    slack_request_url        = google_cloudfunctions2_function.main["chat_slack"].url
  }
}

output "earth_engine_registration" {
  description = "The one step Terraform cannot take: registering the Earth Engine project. Open the link once, as a project owner, before sending the first render."
  value       = "Register ${local.earth_engine_project_id} for Earth Engine (commercial or noncommercial use) at https://code.earthengine.google.com/register?project=${local.earth_engine_project_id} ; until then every render fails with a 403 that says the project is not registered."
}

output "function_urls" {
  description = "HTTPS endpoint of each function, keyed by entry point. Event functions are reachable only from inside the project."
  value       = { for name, function in google_cloudfunctions2_function.main : name => function.url }
}

output "service_accounts" {
  description = "Service account emails: one runtime account per entry point (the same account for all when shared_service_account is true), the account that delivers events, and the account that delivers results to the chat apps."
  value = {
    results_push = google_service_account.results_push.email
    runtime      = { for name, account in local.runtime_accounts : name => google_service_account.runtime[account].email }
    trigger      = google_service_account.trigger.email
  }
}

output "topics" {
  description = "Pub/Sub topic names: requests (publish render requests here), results (render outcomes) and dead_letter (requests that failed every delivery)."
  value = {
    dead_letter = google_pubsub_topic.dead_letter.name
    requests    = google_pubsub_topic.requests.name
    results     = google_pubsub_topic.results.name
  }
}
