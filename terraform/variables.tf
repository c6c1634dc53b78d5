# tfdoc:file:description Input variables, in alphabetical order.

variable "chat" {
  description = "Settings of the chat apps (see docs/chat.md). google_audience sets CHAT_AUDIENCE from the authentication audience chosen in the Chat API configuration: \"project-number\" or \"endpoint-url\" (the chat_google URL in the chat_apps output), or \"\" while the Chat app is not configured. reply_seconds (CHAT_REPLY_SECONDS), repeat_seconds (COMMAND_REPEAT_SECONDS) and slack_response_url_prefixes (SLACK_RESPONSE_URL_PREFIXES) keep the code's defaults when null. filter_results delivers each app only its own results."
  type = object({
    filter_results              = optional(bool, true)
    google_audience             = optional(string, "")
    reply_seconds               = optional(number)
    repeat_seconds              = optional(number)
    slack_response_url_prefixes = optional(list(string))
  })
  default  = {}
  nullable = false
  validation {
    condition     = contains(["", "project-number", "endpoint-url"], var.chat.google_audience)
    error_message = "Set chat.google_audience to \"project-number\" or \"endpoint-url\", as chosen under Authentication audience in the Chat API configuration, or leave it empty."
  }
  validation {
    # Google Chat's documentation: a synchronous reply must arrive within 30 seconds.
    condition     = var.chat.reply_seconds == null || (try(var.chat.reply_seconds > 0, false) && try(var.chat.reply_seconds < 30, false))
    error_message = "Set chat.reply_seconds above 0 and below 30, because Google Chat stops waiting for a reply after 30 seconds."
  }
  validation {
    # The claims behind the repeat window are deleted a day after they are made.
    condition     = var.chat.repeat_seconds == null || (try(var.chat.repeat_seconds >= 0, false) && try(var.chat.repeat_seconds <= 86400, false))
    error_message = "Set chat.repeat_seconds from 0 to 86400: command claims are deleted after one day, so a longer window would not hold."
  }
  validation {
    condition     = alltrue([for prefix in coalesce(var.chat.slack_response_url_prefixes, []) : can(regex("^https://[^/]+/", prefix))])
    error_message = "Give each Slack response URL prefix as an https URL with a host and a path, for example https://hooks.slack.com/."
  }
}

variable "cors_allowed_origins" {
  description = "Browser origins, such as https://maps.example.com, allowed to call render_http from JavaScript. Leave empty to send no CORS headers."
  type        = list(string)
  default     = []
  nullable    = false
  validation {
    condition     = alltrue([for origin in var.cors_allowed_origins : can(regex("^https?://[^/*]+$", origin))])
    error_message = "Give each origin as scheme and host with no path or wildcard, for example https://maps.example.com."
  }
}

variable "earth_engine_high_volume" {
  description = "Send Earth Engine calls to the high-volume endpoint (earthengine-highvolume.googleapis.com), which suits automated traffic such as batch renders. See https://developers.google.com/earth-engine/cloud/highvolume."
  type        = bool
  default     = false
  nullable    = false
}

variable "earth_engine_project_id" {
  description = "Cloud project registered for Earth Engine and charged for its calls. Defaults to project_id. The runtime service accounts get their Earth Engine role and Service Usage Consumer on this project."
  type        = string
  default     = null
  validation {
    condition     = var.earth_engine_project_id == null || can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.earth_engine_project_id))
    error_message = "Use a project ID (6 to 30 lowercase letters, digits or hyphens, starting with a letter), not a project name or number."
  }
}

variable "events" {
  description = "Settings of the event triggers and batches; null keeps the code's default. batch_max_items sets BATCH_MAX_ITEMS, geotiff_preview sets GEOTIFF_PREVIEW (a JSON object such as jsonencode({ dimensions = 512, format = \"png\" })), max_age_seconds sets EVENT_MAX_AGE (0 keeps events of any age) and request_prefix sets REQUEST_PREFIX, the prefix of request files in the request bucket."
  type = object({
    batch_max_items = optional(number)
    geotiff_preview = optional(string)
    max_age_seconds = optional(number)
    request_prefix  = optional(string)
  })
  default  = {}
  nullable = false
  validation {
    condition     = var.events.batch_max_items == null || try(var.events.batch_max_items >= 1 && floor(var.events.batch_max_items) == var.events.batch_max_items, false)
    error_message = "Set events.batch_max_items to a whole number, 1 or more."
  }
  validation {
    condition     = var.events.geotiff_preview == null || can(keys(jsondecode(var.events.geotiff_preview)))
    error_message = "Give events.geotiff_preview as a JSON object, for example jsonencode({ dimensions = 512, format = \"png\" })."
  }
  validation {
    condition     = var.events.max_age_seconds == null || try(var.events.max_age_seconds >= 0 && floor(var.events.max_age_seconds) == var.events.max_age_seconds, false)
    error_message = "Set events.max_age_seconds to a whole number of seconds, 0 or more."
  }
  validation {
    condition     = var.events.request_prefix == null || can(regex("^([^/].*)?$", var.events.request_prefix))
    error_message = "Give events.request_prefix as an object name prefix without a leading slash, for example requests/."
  }
}

variable "expression_policy" {
  description = "Allow-lists of the expression policy, applied by every function: asset_prefixes (RENDER_ALLOWED_ASSET_PREFIXES), source_buckets (RENDER_ALLOWED_SOURCE_BUCKETS, for gs:// reads such as Image.loadGeoTIFF) and algorithms (RENDER_ALLOWED_ALGORITHMS). Null allows everything, an empty list nothing. render_storage always may read the request bucket, for GeoTIFF previews. Set asset_prefixes and source_buckets for any public function."
  type = object({
    algorithms     = optional(list(string))
    asset_prefixes = optional(list(string))
    source_buckets = optional(list(string))
  })
  default  = {}
  nullable = false
  validation {
    condition     = alltrue([for entries in values(var.expression_policy) : entries == null || !contains(coalesce(entries, ["*"]), "*")])
    error_message = "Leave an expression_policy list null to allow everything; a bare \"*\" entry is not accepted in a list."
  }
  validation {
    condition     = alltrue([for entries in values(var.expression_policy) : alltrue([for entry in coalesce(entries, []) : can(regex("^[^,\\s]+$", entry))])])
    error_message = "Give each expression_policy entry without commas or spaces, for example USGS or COPERNICUS/S2*."
  }
}

variable "extra_render_buckets" {
  description = "Existing buckets, besides the render bucket this configuration creates, that a request may name as its destination. Each function that stores renders gets object create rights on them."
  type        = list(string)
  default     = []
  nullable    = false
  validation {
    condition     = alltrue([for bucket in var.extra_render_buckets : can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", bucket))])
    error_message = "Give bucket names only (3 to 63 lowercase letters, digits, dots, hyphens or underscores), without a gs:// prefix."
  }
}

variable "functions" {
  description = "Sizing of each function: CPU count, memory (for example 512Mi or 1Gi), timeout in seconds, requests served at once by one instance, and the instance range. Omitted fields keep their defaults."
  type = object({
    chat_google = optional(object({
      cpu             = optional(number, 1)
      memory          = optional(string, "512Mi")
      timeout_seconds = optional(number, 60)
      concurrency     = optional(number, 8)
      min_instances   = optional(number, 0)
      max_instances   = optional(number, 5)
    }), {})
    chat_slack = optional(object({
      cpu             = optional(number, 1)
      memory          = optional(string, "512Mi")
      timeout_seconds = optional(number, 60)
      concurrency     = optional(number, 8)
      min_instances   = optional(number, 0)
      max_instances   = optional(number, 5)
    }), {})
    render_http = optional(object({
      cpu             = optional(number, 1)
      memory          = optional(string, "1Gi")
      timeout_seconds = optional(number, 60)
      concurrency     = optional(number, 8)
      min_instances   = optional(number, 0)
      max_instances   = optional(number, 10)
    }), {})
    render_pubsub = optional(object({
      cpu             = optional(number, 1)
      memory          = optional(string, "1Gi")
      timeout_seconds = optional(number, 300)
      concurrency     = optional(number, 4)
      min_instances   = optional(number, 0)
      max_instances   = optional(number, 10)
    }), {})
    render_storage = optional(object({
      cpu             = optional(number, 1)
      memory          = optional(string, "1Gi")
      timeout_seconds = optional(number, 300)
      concurrency     = optional(number, 4)
      min_instances   = optional(number, 0)
      max_instances   = optional(number, 10)
    }), {})
  })
  default  = {}
  nullable = false
  validation {
    condition     = alltrue([for config in values(var.functions) : can(regex("^[1-9][0-9]*(Mi|Gi)$", config.memory))])
    error_message = "Give memory as a whole number with Mi or Gi, for example 512Mi or 2Gi."
  }
  validation {
    condition     = alltrue([for config in values(var.functions) : config.concurrency == 1 || config.cpu >= 1])
    error_message = "A function that serves more than one request at a time needs cpu of 1 or more; raise cpu or set concurrency to 1."
  }
  validation {
    condition     = alltrue([for config in values(var.functions) : config.concurrency >= 1 && config.concurrency <= 1000])
    error_message = "Set concurrency between 1 and 1000."
  }
  validation {
    condition     = alltrue([for config in values(var.functions) : config.min_instances >= 0 && config.max_instances >= max(1, config.min_instances)])
    error_message = "Set min_instances to 0 or more and max_instances to at least 1 and at least min_instances."
  }
  validation {
    condition     = alltrue([for config in values(var.functions) : config.timeout_seconds >= 1 && config.timeout_seconds <= 3600])
    error_message = "Set timeout_seconds between 1 and 3600."
  }
  validation {
    # Event deliveries time out after 540 seconds on Cloud Functions, and a Pub/Sub push
    # acknowledgement deadline cannot exceed 600 seconds.
    condition     = var.functions.render_pubsub.timeout_seconds <= 540 && var.functions.render_storage.timeout_seconds <= 540
    error_message = "Event functions (render_pubsub, render_storage) allow timeout_seconds up to 540; lower it."
  }
}

variable "http_security" {
  description = "Caller checks of render_http (see docs/security.md); null keeps the code's default. auth_modes sets HTTP_AUTH_MODES: [\"iam\"] (Cloud Run IAM), or \"hmac\" and \"signed-link\", which need render_http in public_access and their keys in secrets (HTTP_HMAC_KEYS, HTTP_LINK_KEYS). hmac_max_skew_seconds sets HTTP_HMAC_MAX_SKEW, trusted_proxy_hops HTTP_TRUSTED_PROXY_HOPS, rate_limit_per_minute HTTP_RATE_LIMIT (per caller and instance), rate_burst HTTP_RATE_BURST and max_pixels HTTP_MAX_PIXELS."
  type = object({
    auth_modes            = optional(set(string), ["iam"])
    hmac_max_skew_seconds = optional(number)
    max_pixels            = optional(number)
    rate_burst            = optional(number)
    rate_limit_per_minute = optional(number)
    trusted_proxy_hops    = optional(number)
  })
  default  = {}
  nullable = false
  validation {
    condition     = length(var.http_security.auth_modes) > 0 && alltrue([for mode in var.http_security.auth_modes : contains(["iam", "hmac", "signed-link"], mode)])
    error_message = "Set http_security.auth_modes to [\"iam\"], or to \"hmac\", \"signed-link\" or both."
  }
  validation {
    # Signed callers need a public service, and behind a public service no ID token
    # has been checked.
    condition     = !contains(var.http_security.auth_modes, "iam") || length(var.http_security.auth_modes) == 1
    error_message = "Cloud Run IAM (\"iam\") cannot be combined with \"hmac\" or \"signed-link\"; deploy the function twice to serve both."
  }
  validation {
    condition     = var.http_security.hmac_max_skew_seconds == null || try(var.http_security.hmac_max_skew_seconds >= 1 && var.http_security.hmac_max_skew_seconds <= 3600, false)
    error_message = "Set http_security.hmac_max_skew_seconds from 1 to 3600."
  }
  validation {
    condition = alltrue([
      for value in [var.http_security.max_pixels, var.http_security.rate_limit_per_minute, var.http_security.trusted_proxy_hops] :
      value == null || try(value >= 0 && floor(value) == value, false)
    ])
    error_message = "Set http_security.max_pixels, rate_limit_per_minute and trusted_proxy_hops to whole numbers, 0 or more."
  }
  validation {
    condition     = var.http_security.rate_burst == null || try(var.http_security.rate_burst >= 1 && floor(var.http_security.rate_burst) == var.http_security.rate_burst, false)
    error_message = "Set http_security.rate_burst to a whole number, 1 or more."
  }
}

variable "invokers" {
  description = "Principals allowed to call each HTTP function, keyed by entry point (render_http, chat_google, chat_slack), for example { render_http = [\"group:mappers@example.com\"] }. Use public_access, not this variable, for unauthenticated callers."
  type        = map(list(string))
  default     = {}
  nullable    = false
  validation {
    condition     = alltrue([for name in keys(var.invokers) : contains(["render_http", "chat_google", "chat_slack"], name)])
    error_message = "Key invokers by an HTTP entry point: render_http, chat_google or chat_slack."
  }
  validation {
    condition     = alltrue(flatten([for members in values(var.invokers) : [for member in members : can(regex("^(user|group|serviceAccount|domain|principal|principalSet):.+$", member))]]))
    error_message = "Give each invoker as type:identity, for example user:ana@example.com or serviceAccount:app@project.iam.gserviceaccount.com. allUsers and allAuthenticatedUsers belong in public_access."
  }
}

variable "labels" {
  description = "Labels added to every function, bucket, topic and subscription."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "log_level" {
  description = "Lowest severity the functions log: DEBUG, INFO, WARNING or ERROR."
  type        = string
  default     = "INFO"
  nullable    = false
  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "Set log_level to DEBUG, INFO, WARNING or ERROR."
  }
}

variable "max_delivery_attempts" {
  description = "Deliveries of one render request message before it moves to the dead-letter topic. Pub/Sub accepts 5 to 100."
  type        = number
  default     = 5
  nullable    = false
  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "Set max_delivery_attempts between 5 and 100, the range Pub/Sub accepts."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name; keep it short because service account IDs allow 30 characters."
  type        = string
  default     = "eerender"
  nullable    = false
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,12}[a-z0-9]$", var.name_prefix))
    error_message = "Use 2 to 14 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "project_id" {
  description = "Cloud project that hosts the functions, buckets and topics."
  type        = string
  nullable    = false
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "Use a project ID (6 to 30 lowercase letters, digits or hyphens, starting with a letter), not a project name or number."
  }
}

variable "propagation_delay" {
  description = "Wait after enabling APIs and granting service agents before functions are created, because both take effect with a delay on a new project. A duration in seconds, such as 90s."
  type        = string
  default     = "90s"
  nullable    = false
  validation {
    condition     = can(regex("^[0-9]+s$", var.propagation_delay))
    error_message = "Give the delay in seconds with an s suffix, for example 90s."
  }
}

variable "public_access" {
  description = "HTTP functions that accept calls without Google credentials (allUsers as invoker). chat_slack needs this because Slack cannot send Google ID tokens; the code then checks Slack's request signature. Anyone can call a public function, and each call spends Earth Engine quota and Cloud Functions time billed to this project."
  type = object({
    functions        = optional(set(string), [])
    accept_cost_risk = optional(bool, false)
  })
  default  = {}
  nullable = false
  validation {
    condition     = alltrue([for name in var.public_access.functions : contains(["render_http", "chat_google", "chat_slack"], name)])
    error_message = "Only HTTP entry points can be public: render_http, chat_google or chat_slack."
  }
  validation {
    condition     = length(var.public_access.functions) == 0 || var.public_access.accept_cost_risk
    error_message = "Anyone on the internet can call a public function, and every call runs Earth Engine computations and function instances billed to this project. Set public_access.accept_cost_risk = true to confirm, and cap the cost with functions.<name>.max_instances and an Earth Engine quota."
  }
}

variable "pubsub" {
  description = "How the functions publish to Pub/Sub; null keeps the code's default. endpoint sets PUBSUB_API_URL, for example a locational endpoint such as https://europe-west4-pubsub.googleapis.com, and publish_timeout_seconds sets PUBSUB_TIMEOUT."
  type = object({
    endpoint                = optional(string)
    publish_timeout_seconds = optional(number)
  })
  default  = {}
  nullable = false
  validation {
    condition     = var.pubsub.endpoint == null || can(regex("^https://[a-z0-9.-]+\\.googleapis\\.com$", var.pubsub.endpoint))
    error_message = "Give pubsub.endpoint as an https googleapis.com host without a path, for example https://pubsub.googleapis.com."
  }
  validation {
    condition     = var.pubsub.publish_timeout_seconds == null || try(var.pubsub.publish_timeout_seconds > 0, false)
    error_message = "Set pubsub.publish_timeout_seconds above 0."
  }
}

variable "region" {
  description = "Region of the functions and buckets, for example us-central1. The request bucket must share the function's region for its trigger. See https://cloud.google.com/functions/docs/locations."
  type        = string
  default     = "us-central1"
  nullable    = false
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "Use a region name such as us-central1 or europe-west4, not a zone or a multi-region."
  }
}

variable "render_retention_days" {
  description = "Days a stored render is kept before Cloud Storage deletes it."
  type        = number
  default     = 30
  nullable    = false
  validation {
    condition     = var.render_retention_days >= 1 && floor(var.render_retention_days) == var.render_retention_days
    error_message = "Set render_retention_days to a whole number of days, 1 or more."
  }
}

variable "request_retention_days" {
  description = "Days an uploaded render request object (and each older version of it) is kept."
  type        = number
  default     = 7
  nullable    = false
  validation {
    condition     = var.request_retention_days >= 1 && floor(var.request_retention_days) == var.request_retention_days
    error_message = "Set request_retention_days to a whole number of days, 1 or more."
  }
}

variable "runtime" {
  description = "Python runtime of the functions."
  type        = string
  default     = "python312"
  nullable    = false
  validation {
    condition     = contains(["python311", "python312"], var.runtime)
    error_message = "Set runtime to python311 or python312, the versions the code is tested with."
  }
}

variable "secrets" {
  description = "Secret Manager secrets, keyed by the environment variable they fill: EE_API_KEY (all functions), SLACK_SIGNING_SECRET (chat_slack), HTTP_HMAC_KEYS and HTTP_LINK_KEYS (render_http), for example { SLACK_SIGNING_SECRET = \"eerender-slack-signing-secret\" }. Create each secret and add a version before applying; the values never pass through Terraform state."
  type        = map(string)
  default     = {}
  nullable    = false
  validation {
    condition     = alltrue([for name in keys(var.secrets) : contains(["EE_API_KEY", "HTTP_HMAC_KEYS", "HTTP_LINK_KEYS", "SLACK_SIGNING_SECRET"], name)])
    error_message = "Key secrets by an environment variable the code reads from Secret Manager: EE_API_KEY, HTTP_HMAC_KEYS, HTTP_LINK_KEYS or SLACK_SIGNING_SECRET."
  }
  validation {
    condition     = alltrue([for secret in values(var.secrets) : can(regex("^[A-Za-z0-9_-]{1,255}$", secret))])
    error_message = "Give the secret ID only (letters, digits, hyphens, underscores), not its full resource name or a version."
  }
}

variable "shared_service_account" {
  description = "Run every function as one service account instead of one account per function. One account is simpler to audit; one per function keeps a compromised function from using the others' grants."
  type        = bool
  default     = false
  nullable    = false
}

variable "signed_urls" {
  description = "Let functions answer with V4 signed URLs of stored renders, which the chat apps need to show images. Each runtime service account then gets Service Account Token Creator on itself, to sign. A signed URL acts with the signer's rights, and every function that stores renders can already read them."
  type        = bool
  default     = false
  nullable    = false
}
