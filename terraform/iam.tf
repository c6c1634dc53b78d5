# tfdoc:file:description Service accounts, the Earth Engine role and every grant.

locals {
  # Runtime service account of each entry point: its own, or one shared by all.
  runtime_accounts = {
    for name in keys(local.functions) :
    name => var.shared_service_account ? "runtime" : replace(name, "_", "-")
  }
  _accounts_reading = {
    for variable, entry in local._environment :
    variable => distinct([for name in entry.functions : local.runtime_accounts[name]])
  }

  # thumbnails.create checks earthengine.thumbnails.create on the project.
  # roles/earthengine.viewer lacks it (it has only thumbnails.get), and
  # roles/earthengine.writer adds asset, table, map and export writes that rendering
  # never uses, so the runtime accounts get a custom role with exactly this list.
  # NOTE: getPixels is fetched with the function's own token when a render is stored.
  # The REST reference names no permission for it; thumbnails.get is the read
  # permission on thumbnails, so it is included.
  earth_engine_permissions = [
    "earthengine.thumbnails.create",
    "earthengine.thumbnails.get",
  ]

  _render_buckets = merge(
    { renders = google_storage_bucket.renders.name },
    { for bucket in var.extra_render_buckets : bucket => bucket },
  )
  _writer_accounts = distinct(concat(
    local._accounts_reading.RENDER_BUCKET,
    local._accounts_reading.RENDER_ALLOWED_BUCKETS,
  ))

  # Object rights per bucket, never on the project. Storing a render looks the object
  # up first (storage.objects.get) and then creates it under a does-not-exist
  # precondition, and batches list and read their item records, so every writer gets
  # objectViewer next to objectCreator. The same read right lets a signer's URLs work,
  # because a signed URL acts with the signer's rights.
  runtime_bucket_grants = merge(
    {
      for grant in setproduct(local._writer_accounts, keys(local._render_buckets), ["objectCreator", "objectViewer"]) :
      "${grant[0]} ${grant[1]} ${grant[2]}" => {
        account = grant[0]
        bucket  = local._render_buckets[grant[1]]
        role    = "roles/storage.${grant[2]}"
      }
    },
    # render_storage reads the request files that trigger it. Earth Engine reads the
    # uploaded GeoTIFFs it previews (Image.loadGeoTIFF) with the function's identity,
    # which also needs storage.buckets.get: the Earth Engine reference names
    # roles/storage.legacyBucketReader for it.
    {
      for role in ["objectViewer", "legacyBucketReader"] :
      "${local.runtime_accounts.render_storage} requests ${role}" => {
        account = local.runtime_accounts.render_storage
        bucket  = google_storage_bucket.requests.name
        role    = "roles/storage.${role}"
      }
    },
    # The chat apps also delete their command and reply claims; creating and reading
    # them is covered above. objectUser is the narrowest predefined role with
    # storage.objects.delete, and its condition limits it to the claims, so a chat
    # function cannot delete renders.
    {
      for account in distinct([for name in keys(local.chat_apps) : local.runtime_accounts[name]]) :
      "${account} renders claims" => {
        account = account
        bucket  = google_storage_bucket.renders.name
        role    = "roles/storage.objectUser"
        condition = {
          title       = "chat-claims"
          description = "Only the chat apps' claim objects."
          expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.renders.name}/objects/${local.chat_claims_prefix}\")"
        }
      }
    },
  )

  _signer_accounts = var.signed_urls ? local._accounts_reading.SIGNED_URL_SERVICE_ACCOUNT : []

  runtime_topic_grants = merge(
    {
      for account in local._accounts_reading.REQUEST_TOPIC : "${account} requests" => {
        account = account
        topic   = google_pubsub_topic.requests.name
      }
    },
    {
      for account in local._accounts_reading.RESULTS_TOPIC : "${account} results" => {
        account = account
        topic   = google_pubsub_topic.results.name
      }
    },
  )

  runtime_secret_grants = {
    for grant in distinct(flatten([
      for variable, secret in var.secrets : [
        for name in local._secret_readers[variable] :
        { account = local.runtime_accounts[name], secret = secret }
      ]
    ])) : "${grant.account} ${grant.secret}" => grant
  }

  http_invokers = merge(
    {
      for grant in flatten([
        for name, members in var.invokers : [
          for member in members : { function = name, member = member }
        ]
      ]) : "${grant.function} ${grant.member}" => grant
    },
    {
      for name in var.public_access.functions :
      "${name} allUsers" => { function = name, member = "allUsers" }
    },
    # Result pushes pass Cloud Run IAM on a chat function that is not public.
    {
      for name in keys(local.chat_apps) :
      "${name} results-push" => {
        function = name
        member   = "serviceAccount:${google_service_account.results_push.email}"
      } if !contains(var.public_access.functions, name)
    },
    # With the endpoint URL as authentication audience, Chat sends an ID token of its
    # own account for that URL, which Cloud Run IAM can check on a private chat_google.
    # A project-number token is no ID token for the URL, so that audience needs
    # chat_google in public_access.
    {
      for name in ["chat_google"] :
      "${name} chat" => {
        function = name
        member   = "serviceAccount:${local.chat_service_account}"
      } if var.chat.google_audience == "endpoint-url" && !contains(var.public_access.functions, name)
    },
  )

  # The account that Google Chat calls apps as.
  chat_service_account = "chat@system.gserviceaccount.com"
}

resource "google_service_account" "runtime" {
  for_each     = toset(values(local.runtime_accounts))
  project      = var.project_id
  account_id   = "${var.name_prefix}-${each.key}"
  display_name = "Earth Engine renderer runtime (${each.key})"
  depends_on   = [time_sleep.services]
}

# Identity that Pub/Sub and Eventarc use to call the event functions.
resource "google_service_account" "trigger" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-trigger"
  display_name = "Earth Engine renderer event delivery"
  depends_on   = [time_sleep.services]
}

# Identity in the ID tokens of result pushes to the chat functions, which check it
# (PUSH_SERVICE_ACCOUNT). It is not the trigger account, so a leaked result token
# cannot call the render functions and the reverse.
resource "google_service_account" "results_push" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-results-push"
  display_name = "Earth Engine renderer result delivery to the chat apps"
  depends_on   = [time_sleep.services]
}

# Deleted custom roles keep their ID for 7 to 44 days: a destroy and re-apply with the
# same name_prefix within that time fails until the role is undeleted.
resource "google_project_iam_custom_role" "earth_engine" {
  project     = local.earth_engine_project_id
  role_id     = "${replace(var.name_prefix, "-", "_")}_thumbnail_renderer"
  title       = "Earth Engine thumbnail renderer (${var.name_prefix})"
  description = "Creates Earth Engine thumbnails; nothing else."
  permissions = local.earth_engine_permissions
}

resource "google_project_iam_member" "earth_engine" {
  for_each = merge(
    { for account in toset(values(local.runtime_accounts)) : "${account} renderer" => {
      account = account
      role    = google_project_iam_custom_role.earth_engine.name
    } },
    # Every call names the Earth Engine project as its quota project, which needs
    # serviceusage.services.use there.
    { for account in toset(values(local.runtime_accounts)) : "${account} serviceUsageConsumer" => {
      account = account
      role    = "roles/serviceusage.serviceUsageConsumer"
    } },
  )
  project = local.earth_engine_project_id
  role    = each.value.role
  member  = "serviceAccount:${google_service_account.runtime[each.value.account].email}"
}

resource "google_storage_bucket_iam_member" "runtime" {
  for_each = local.runtime_bucket_grants
  bucket   = each.value.bucket
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.runtime[each.value.account].email}"

  dynamic "condition" {
    for_each = try([each.value.condition], [])
    content {
      title       = condition.value.title
      description = condition.value.description
      expression  = condition.value.expression
    }
  }
}

resource "google_pubsub_topic_iam_member" "runtime" {
  for_each = local.runtime_topic_grants
  project  = var.project_id
  topic    = each.value.topic
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.runtime[each.value.account].email}"
}

resource "google_secret_manager_secret_iam_member" "runtime" {
  for_each  = local.runtime_secret_grants
  project   = var.project_id
  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime[each.value.account].email}"
}

# Signing a URL calls signBlob as the account itself, which needs Token Creator on it.
resource "google_service_account_iam_member" "runtime_signer" {
  for_each           = toset(local._signer_accounts)
  service_account_id = google_service_account.runtime[each.key].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${google_service_account.runtime[each.key].email}"
}

resource "google_project_iam_member" "trigger_event_receiver" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.trigger.email}"
}

# Cloud Functions (2nd gen) checks run.invoker on the function's Cloud Run service;
# roles/cloudfunctions.invoker on the function does not let events in.
resource "google_cloud_run_service_iam_member" "trigger_invoker" {
  for_each = toset(local.event_functions)
  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.main[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger.email}"
}

resource "google_cloud_run_service_iam_member" "http_invoker" {
  #checkov:skip=CKV_GCP_102:allUsers is granted only for functions listed in var.public_access, which requires accept_cost_risk = true.
  for_each = local.http_invokers
  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.main[each.value.function].name
  role     = "roles/run.invoker"
  member   = each.value.member
}

# Service agents. Eventarc delivers storage events; Cloud Storage publishes the bucket
# notifications behind them to a topic that Eventarc creates, so its agent needs
# publish rights on the project rather than on one topic.
resource "google_project_iam_member" "service_agents" {
  #checkov:skip=CKV_GCP_49:The Eventarc service agent needs roles/eventarc.serviceAgent, which Google defines, to deliver events as the trigger account.
  for_each = {
    "eventarc serviceAgent" = {
      role   = "roles/eventarc.serviceAgent"
      member = "serviceAccount:${google_project_service_identity.eventarc.email}"
    }
    "storage publisher" = {
      role   = "roles/pubsub.publisher"
      member = "serviceAccount:${data.google_storage_project_service_account.main.email_address}"
    }
  }
  project = var.project_id
  role    = each.value.role
  member  = each.value.member
}

# Dead-lettering republishes as the Pub/Sub service agent, which has to publish to the
# dead-letter topic and acknowledge on the source subscription.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_project_service_identity.pubsub.email}"
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.render_requests.name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${google_project_service_identity.pubsub.email}"
}

# Pub/Sub mints each push request's OIDC token as the subscription's account.
# Projects created before April 2021 do not give the Pub/Sub service agent that right
# by default.
resource "google_service_account_iam_member" "pubsub_token_creator" {
  for_each = {
    results_push = google_service_account.results_push.name
    trigger      = google_service_account.trigger.name
  }
  service_account_id = each.value
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${google_project_service_identity.pubsub.email}"
}

# The token grant became one instance per push account; keep the trigger account's
# grant instead of replacing it.
moved {
  from = google_service_account_iam_member.pubsub_token_creator
  to   = google_service_account_iam_member.pubsub_token_creator["trigger"]
}
