# tfdoc:file:description Render request, result and dead-letter topics and subscriptions.

resource "google_pubsub_topic" "requests" {
  #checkov:skip=CKV_GCP_83:Messages carry render requests, not personal data; Google-managed encryption applies.
  project                    = var.project_id
  name                       = "${var.name_prefix}-render-requests"
  labels                     = var.labels
  message_retention_duration = "86400s"
  depends_on                 = [time_sleep.services]
}

resource "google_pubsub_topic" "results" {
  #checkov:skip=CKV_GCP_83:Messages carry render outcomes, not personal data; Google-managed encryption applies.
  project    = var.project_id
  name       = "${var.name_prefix}-render-results"
  labels     = var.labels
  depends_on = [time_sleep.services]
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Messages carry render requests, not personal data; Google-managed encryption applies.
  project    = var.project_id
  name       = "${var.name_prefix}-render-dead-letter"
  labels     = var.labels
  depends_on = [time_sleep.services]
}

# render_pubsub is fed by this subscription, which this configuration owns, rather
# than by an event trigger. Eventarc creates its trigger's subscription itself: its
# dead-letter settings cannot be managed here, and it is deleted, with its backlog,
# whenever the function is replaced. This subscription keeps queued requests across
# function replacements and moves a request to the dead-letter topic after
# max_delivery_attempts failed deliveries. The Functions Framework (3.x) turns the
# push body into the messagePublished CloudEvent an event trigger delivers, and takes
# the event source from the topic path appended to the endpoint.
# NOTE: the conversion rejects a message without data with 400, so such a message
# ends in the dead-letter topic instead of reaching the function.
resource "google_pubsub_subscription" "render_requests" {
  project                    = var.project_id
  name                       = "${var.name_prefix}-render-pubsub"
  topic                      = google_pubsub_topic.requests.id
  labels                     = var.labels
  ack_deadline_seconds       = min(600, var.functions.render_pubsub.timeout_seconds + 30)
  message_retention_duration = "604800s"

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.main["render_pubsub"].service_config[0].uri}/${google_pubsub_topic.requests.id}"
    oidc_token {
      service_account_email = google_service_account.trigger.email
      audience              = google_cloudfunctions2_function.main["render_pubsub"].service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  # An empty ttl keeps the subscription even when no message arrives for 31 days.
  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_service_iam_member.trigger_invoker,
    time_sleep.service_agent_grants,
  ]
}

# Messages published to a topic without subscriptions are dropped, so dead letters
# need a subscription of their own to wait for an operator.
resource "google_pubsub_subscription" "dead_letter" {
  project                    = var.project_id
  name                       = "${var.name_prefix}-render-dead-letter"
  topic                      = google_pubsub_topic.dead_letter.id
  labels                     = var.labels
  message_retention_duration = "604800s"
  ack_deadline_seconds       = 60

  expiration_policy {
    ttl = ""
  }
}

# The chat functions post each rendered or failed hand-off where its command came
# from. The Pub/Sub function announces outcomes on the results topic, and this
# subscription pushes them to /results of each chat function, with an ID token that
# the code checks against PUSH_AUDIENCE and PUSH_SERVICE_ACCOUNT.
resource "google_pubsub_subscription" "chat_results" {
  for_each             = local.chat_apps
  project              = var.project_id
  name                 = "${local.function_names[each.key]}-results"
  topic                = google_pubsub_topic.results.id
  labels               = var.labels
  ack_deadline_seconds = min(600, var.functions[each.key].timeout_seconds + 30)
  # Each function acknowledges the other app's results unread, so the filter only
  # saves deliveries.
  filter = var.chat.filter_results ? "attributes.reply_app = \"${each.value}\"" : null
  # Slack takes posts to a response_url for 30 minutes, and reply claims are deleted
  # after a day. An older result is dropped rather than posted late, or twice.
  message_retention_duration = "86400s"

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.main[each.key].service_config[0].uri}/results"
    oidc_token {
      service_account_email = google_service_account.results_push.email
      audience              = local.run_urls[each.key]
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_service_iam_member.http_invoker,
    time_sleep.service_agent_grants,
  ]
}
