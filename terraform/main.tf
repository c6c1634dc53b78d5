# tfdoc:file:description Providers, shared names, required APIs and first-apply waits.

provider "google" {
  project = var.project_id
  region  = var.region
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}

locals {
  earth_engine_project_id = coalesce(var.earth_engine_project_id, var.project_id)

  # One entry per entry point in main.py. Keys are the entry point names, so the
  # function, its service account and its grants keep their names across releases.
  functions = {
    chat_google = {
      description = "Google Chat app: renders Earth Engine expressions sent as chat messages."
      trigger     = "http"
    }
    chat_slack = {
      description = "Slack slash command: renders Earth Engine expressions for Slack."
      trigger     = "http"
    }
    render_http = {
      description = "Renders Earth Engine expressions over HTTP and fans out batches."
      trigger     = "http"
    }
    render_pubsub = {
      description = "Renders requests pushed from the render request subscription."
      trigger     = "pubsub"
    }
    render_storage = {
      description = "Renders request objects uploaded to the request bucket."
      trigger     = "storage"
    }
  }
  event_functions = [for name, function in local.functions : name if function.trigger != "http"]

  # Chat functions, with the reply_app attribute that marks their results
  # (handlers/chat.py and handlers/slack.py APP).
  chat_apps = {
    chat_google = "chat"
    chat_slack  = "slack"
  }

  # The project keeps these APIs when this configuration is destroyed, because other
  # workloads may use them.
  _services = [
    "artifactregistry.googleapis.com",
    # chat_google posts slow renders through the Chat API as the app.
    "chat.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    # Reads the project number for the functions' URLs (data.google_project).
    "cloudresourcemanager.googleapis.com",
    "earthengine.googleapis.com",
    "eventarc.googleapis.com",
    "iamcredentials.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ]
  # Earth Engine also has to be on in the project charged for it, when that differs.
  services = merge(
    { for service in local._services : "${var.project_id} ${service}" => {
      project = var.project_id
      service = service
    } },
    { "${local.earth_engine_project_id} earthengine.googleapis.com" = {
      project = local.earth_engine_project_id
      service = "earthengine.googleapis.com"
    } },
  )
}

resource "google_project_service" "main" {
  for_each                   = local.services
  project                    = each.value.project
  service                    = each.value.service
  disable_on_destroy         = false
  disable_dependent_services = false
}

# A newly enabled API answers before every region has caught up, and the Cloud
# Functions, Eventarc and Pub/Sub service agents are created a little later still.
resource "time_sleep" "services" {
  create_duration = var.propagation_delay
  depends_on      = [google_project_service.main]
}

# Creating the service agents explicitly, instead of waiting for the first trigger to
# create them, lets the grants below exist before any function does.
resource "google_project_service_identity" "eventarc" {
  provider   = google-beta
  project    = var.project_id
  service    = "eventarc.googleapis.com"
  depends_on = [time_sleep.services]
}

resource "google_project_service_identity" "pubsub" {
  provider   = google-beta
  project    = var.project_id
  service    = "pubsub.googleapis.com"
  depends_on = [time_sleep.services]
}

data "google_project" "main" {
  project_id = var.project_id
  depends_on = [time_sleep.services]
}

data "google_storage_project_service_account" "main" {
  project    = var.project_id
  depends_on = [time_sleep.services]
}

# IAM changes take up to a few minutes to reach every service; without this wait the
# first apply fails with "Permission denied while using the Eventarc Service Agent".
resource "time_sleep" "service_agent_grants" {
  create_duration = var.propagation_delay
  depends_on = [
    google_project_iam_member.service_agents,
    google_pubsub_topic_iam_member.dead_letter_publisher,
    google_service_account_iam_member.pubsub_token_creator,
  ]
}
